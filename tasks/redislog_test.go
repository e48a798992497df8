package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"
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

// A notice repeated while Redis is away (every pooled connection's dial
// fails at once) is logged once per redisLogNotEvery, the next line
// counting those left out; another kind of notice is logged meanwhile.
func TestRedisLoggerRepeats(t *testing.T) {
	var buf bytes.Buffer
	l := newRedisLogger(slog.New(slog.NewJSONHandler(&buf, nil)), slog.LevelWarn)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	const dial = "redis: connection pool: failed to dial after %d attempts: %s"
	ctx := context.Background()
	for range 150 {
		l.Printf(ctx, dial, 5, "connection refused")
	}
	l.Printf(ctx, "redis: discarding bad PubSub connection: %s", "EOF")
	now = now.Add(redisLogNotEvery)
	l.Printf(ctx, dial, 5, "connection refused")
	var recs []map[string]any
	for _, line := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		recs = append(recs, rec)
	}
	if len(recs) != 3 || recs[0]["repeated"] != nil || recs[1]["msg"] != "redis: discarding bad PubSub connection: EOF" ||
		recs[2]["repeated"] != float64(149) {
		t.Fatalf("records: %v", recs)
	}
}
