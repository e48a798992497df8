package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/metrics"
)

// TestHealthReadyzLogSpaced_audit11: --health-addr's /readyz is probed every
// few seconds (and anyone who reaches the address can ask): with Redis away,
// 20 failing probes log one WARN saying why and 19 at debug, each still a
// 503.
func TestHealthReadyzLogSpaced_audit11(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = down.Close() })
	var logs proctest.Buffer
	h := newHealthServer("127.0.0.1:0", down, metrics.New().Registry,
		slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	for i := range 20 {
		if code, body := get(t, "http://"+h.Addr()+"/readyz"); code != 503 || !strings.Contains(body, "redis does not answer") {
			t.Fatalf("probe %d: %d %q, want 503", i, code, body)
		}
	}
	var warn, debug int
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "readyz: redis does not answer") {
			continue
		}
		switch {
		case strings.Contains(line, "level=WARN"):
			warn++
			if !strings.Contains(line, "error=") || !strings.Contains(line, "component=health") {
				t.Errorf("the WARN line does not say Redis's error: %s", line)
			}
		case strings.Contains(line, "level=DEBUG"):
			debug++
		}
	}
	if warn != 1 || debug != 19 {
		t.Errorf("%d WARN and %d DEBUG lines for 20 failing probes, want 1 and 19:\n%s", warn, debug, logs.String())
	}
}
