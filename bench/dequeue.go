package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/tasks"
)

// DequeueLatency is what a dequeueWatch saw: the round trips of asynq's
// dequeue script, and of those the ones that began while the ledger had a
// pipeline out.
type DequeueLatency struct {
	All, WithLedger Latency
}

// dequeueWatch is a go-redis hook on asynq's server client that times its
// dequeue script calls (the ones whose first key is a queue's pending list).
// asynq's processor dequeues one task per round trip from a single loop, so
// this round trip bounds the drain rate.
type dequeueWatch struct {
	// ledgerBusy, if set, tells whether the ledger has a pipeline out.
	ledgerBusy func() bool

	mu         sync.Mutex
	all, along []time.Duration
}

func (w *dequeueWatch) DialHook(next redis.DialHook) redis.DialHook { return next }

func (w *dequeueWatch) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (w *dequeueWatch) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if len(args) < 4 {
			return next(ctx, cmd)
		}
		if k, ok := args[3].(string); !ok || !strings.HasSuffix(k, ":pending") {
			return next(ctx, cmd)
		}
		along := w.ledgerBusy != nil && w.ledgerBusy()
		start := time.Now()
		err := next(ctx, cmd)
		d := time.Since(start)
		w.mu.Lock()
		w.all = append(w.all, d)
		if along {
			w.along = append(w.along, d)
		}
		w.mu.Unlock()
		return err
	}
}

func (w *dequeueWatch) result() *DequeueLatency {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return &DequeueLatency{All: LatencyOf(w.all), WithLedger: LatencyOf(w.along)}
}

// Micros formats l's mean and percentiles in microseconds.
func (l Latency) Micros() string {
	us := func(ms float64) string { return fmt.Sprintf("%.0fµs", ms*1000) }
	return fmt.Sprintf("mean %s, p50 %s, p95 %s, p99 %s", us(l.Mean), us(l.P50), us(l.P95), us(l.P99))
}

// newServer returns an asynq server on o.Redis and a function to call after
// its Shutdown. Both phases use the worker's own server client
// (tasks.NewServerRedisClient), so the ratio compares handlers, not clients;
// with a watch, the client carries the watch's hook.
func newServer(o PipelineOptions, cfg asynq.Config, w *dequeueWatch) (*asynq.Server, func(), error) {
	c := tasks.NewServerRedisClient(o.Redis)
	if w != nil {
		c.AddHook(w)
	}
	return asynq.NewServerFromRedisClient(c, cfg), func() { c.Close() }, nil
}
