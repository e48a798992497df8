package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
)

// TestMonitorRedisAwayLoggedOnce_audit11: an open monitor asks every few
// seconds; with Redis away each ask is a 503, and the first says why at
// WARN, the next ones within 10 s at debug, not a WARN line each.
func TestMonitorRedisAwayLoggedOnce_audit11(t *testing.T) {
	dead := tasks.NewRedisClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	var logs proctest.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ready: tasks.NewPinger(dead, 200*time.Millisecond)}
	mux := http.NewServeMux()
	mux.HandleFunc("/monitor/api/queues", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "dial tcp 127.0.0.1:1: connect: connection refused", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(s.monitorErrors(mux))
	t.Cleanup(srv.Close)
	const n = 5
	for i := range n {
		if resp, body := getAnswer(t, srv.URL+"/monitor/api/queues"); resp.StatusCode != 503 {
			t.Fatalf("ask %d: %d %q, want 503", i, resp.StatusCode, body)
		}
	}
	var warn, debug int
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "monitor: redis does not answer") {
			continue
		}
		switch {
		case strings.Contains(line, `"level":"WARN"`):
			warn++
		case strings.Contains(line, `"level":"DEBUG"`):
			debug++
		}
	}
	if warn != 1 || debug != n-1 {
		t.Errorf("%d WARN and %d DEBUG lines for %d asks, want 1 and %d:\n%s", warn, debug, n, n-1, logs.String())
	}
}
