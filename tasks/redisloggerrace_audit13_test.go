package tasks

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// countHandler counts the records it is given, from any goroutine.
type countHandler struct{ n *atomic.Int64 }

func (h countHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (h countHandler) Handle(context.Context, slog.Record) error { h.n.Add(1); return nil }
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler        { return h }
func (h countHandler) WithGroup(string) slog.Handler             { return h }

// TestSetRedisLoggerWhileClientsLog_audit13: bench and the one-shot
// commands swap go-redis's global logger (SetRedisLoggerAt: debug until
// Redis answers, warnings after) while go-redis clients may be logging from
// their own goroutines (a pool's failed dials). Under -race the swap and
// the clients' logging must not race: go-redis keeps its logger behind an
// atomic pointer, and a redisLogger is not changed after it is made.
func TestSetRedisLoggerWhileClientsLog_audit13(t *testing.T) {
	var n atomic.Int64
	log := slog.New(countHandler{&n})
	t.Cleanup(func() { SetRedisLogger(slog.New(slog.NewTextHandler(io.Discard, nil))) })
	SetRedisLoggerAt(log, slog.LevelDebug)

	// Nothing listens on port 1: each command's dial fails, and go-redis
	// logs it ("failed to dial after N attempts").
	var wg sync.WaitGroup
	done := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rdb := NewRedisClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond})
			defer rdb.Close()
			for range 2 {
				_ = rdb.Ping(context.Background()).Err()
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	swaps := 0
	for {
		select {
		case <-done:
			if n.Load() == 0 {
				t.Fatal("go-redis logged nothing: the test did not have clients log while the logger was swapped")
			}
			if swaps == 0 {
				t.Fatal("the logger was not swapped while the clients ran")
			}
			return
		default:
		}
		level := slog.LevelWarn
		if swaps%2 == 0 {
			level = slog.LevelDebug
		}
		SetRedisLoggerAt(log, level)
		swaps++
		time.Sleep(time.Millisecond)
	}
}
