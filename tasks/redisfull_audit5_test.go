package tasks

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redisproc"
)

// TestRedisFullIsAway: a Redis at its maxmemory under noeviction
// (deploy/redis/redis.conf) refuses writes with OOM, from a command or from a
// script's first write, until memory is freed or maxmemory raised. That is
// RedisFull, and RedisAway: a reply waits it out without using a retry, and
// a worker's server client (asynq's dequeue, forwarder and task writes) tries
// the command again instead of failing at once. Before, an OOM was an answer
// like any other: each reply that met it used a retry (archived unsent after
// worker.max_retry), and asynq logged its forwarder's and dequeue's failures
// several times a second for as long as Redis stayed full.
func TestRedisFullIsAway(t *testing.T) {
	srv := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory-policy", "noeviction"}})
	admin := srv.Client()
	ctx := context.Background()
	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"SET":    admin.Set(ctx, "k", "v", 0).Err(),
		"script": admin.Eval(ctx, "return redis.call('SET', KEYS[1], 'v')", []string{"k"}).Err(),
	} {
		if !RedisFull(err) || !RedisAway(err) {
			t.Errorf("%s on a full Redis: %v: RedisFull %v, RedisAway %v; want both true", name, err, RedisFull(err), RedisAway(err))
		}
	}
	if err := admin.Eval(ctx, "return redis.error_reply(ARGV[1])", nil, "ERR OOMish but not OOM").Err(); RedisFull(err) {
		t.Errorf("RedisFull(%v) = true, want false", err)
	}

	// The server client waits: its write is refused (twice, by Redis's own
	// count), then lands once maxmemory is raised.
	c := NewServerRedisClient(asynq.RedisClientOpt{Addr: srv.Addr()})
	t.Cleanup(func() { c.StopRetrying(); _ = c.Close() })
	before := redisproc.OOMRefusals(t, admin)
	done := make(chan error, 1)
	go func() { done <- c.Set(ctx, "w", "x", 0).Err() }()
	for redisproc.OOMRefusals(t, admin) < before+2 {
		select {
		case err := <-done:
			t.Fatalf("the server client's write on a full Redis ended with %v, want it to wait", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the server client's write after maxmemory was raised: %v", err)
	}
	if v, err := admin.Get(ctx, "w").Result(); err != nil || v != "x" {
		t.Errorf("w = %q, %v; want x", v, err)
	}
}
