package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
)

// go-redis's notices become one slog warning each, in the process's format.
func TestRedisLogger(t *testing.T) {
	var buf bytes.Buffer
	l := redisLogger{log: slog.New(slog.NewJSONHandler(&buf, nil)).With(slog.String("component", "go-redis"))}
	l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts: %s\n", 5, "dial tcp 127.0.0.1:1: connect: connection refused")
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("not one JSON line: %q: %v", buf.String(), err)
	}
	if rec["level"] != "WARN" || rec["component"] != "go-redis" ||
		rec["msg"] != "redis: connection pool: failed to dial after 5 attempts: dial tcp 127.0.0.1:1: connect: connection refused" {
		t.Fatalf("record = %v", rec)
	}
}
