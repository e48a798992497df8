package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

// go-redis's notices become one slog record each, in the process's format:
// warnings, or debug lines for a one-shot command (SetRedisLoggerAt).
func TestRedisLogger(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelWarn, slog.LevelDebug} {
		var buf bytes.Buffer
		l := newRedisLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), level)
		l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %s\n", 5, "dial tcp 127.0.0.1:1: connect: connection refused")
		var rec map[string]any
		if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
			t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
		}
		if rec["level"] != level.String() || rec["component"] != "go-redis" ||
			rec["msg"] != "redis: connection pool: failed to dial after 5 attempts: dial tcp 127.0.0.1:1: connect: connection refused" {
			t.Fatalf("record at %s = %v", level, rec)
		}
	}
}
