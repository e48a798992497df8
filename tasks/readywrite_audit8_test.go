package tasks

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redisproc"
)

// TestPingerRedisRefusesWrites: readiness is a write. A Redis at its
// maxmemory under noeviction (deploy/redis/redis.conf's policy) answers a
// PING but refuses every enqueue: the Pinger says not ready, with an error
// that ReadyReason names as OOM (no address, no Redis text), and ready again
// once memory is freed. A Redis that became a read-only replica (as after a
// failover, REPLICAOF) is not ready either (READONLY), and ready once it is a
// master again. The probes leave one key, expiring within seconds, however
// many of them run.
func TestPingerRedisRefusesWrites(t *testing.T) {
	srv := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory", "1mb", "--maxmemory-policy", "noeviction"}})
	admin := srv.Client()
	ctx := context.Background()
	opt := asynq.RedisClientOpt{Addr: srv.Addr()}
	rdb := NewRedisClient(opt) // the service's own options
	t.Cleanup(func() { _ = rdb.Close() })
	p := NewPinger(rdb, 0)
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	// 1 MB of room over what the server and these clients use already
	// (Redis counts the clients' buffers: a bare 1mb is full with a few).
	redisproc.Room(t, admin, 1<<20)
	enqueue := func() error {
		_, err := client.EnqueueContext(ctx, asynq.NewTask(TypePoll, []byte(`{"page_id":"111","slot":0}`)), asynq.Queue(QueuePolls))
		return err
	}

	for range 20 {
		if err := p.Ping(ctx); err != nil {
			t.Fatalf("Ping with room in Redis: %v", err)
		}
	}
	if n, err := admin.DBSize(ctx).Result(); err != nil || n != 1 {
		t.Errorf("20 probes left %d keys (%v), want 1", n, err)
	}
	if ttl, err := admin.PTTL(ctx, readyKey).Result(); err != nil || ttl <= 0 || ttl > readyKeyTTL {
		t.Errorf("the probe's key %s expires in %s (%v), want within %s", readyKey, ttl, err, readyKeyTTL)
	}

	keys := redisproc.FillUntilRefused(t, admin)
	if err := admin.Ping(ctx).Err(); err != nil {
		t.Fatalf("a full Redis answers no PING: %v", err)
	}
	if err := enqueue(); err == nil || !strings.Contains(err.Error(), "OOM") {
		t.Fatalf("enqueue into a full Redis: %v, want OOM", err)
	}
	err := p.Ping(ctx)
	t.Logf("full after %d keys: Ping = %v", keys, err)
	if !errors.Is(err, ErrRefusesWrites) {
		t.Fatalf("Ping with Redis refusing writes (OOM) = %v, want ErrRefusesWrites", err)
	}
	reason := ReadyReason(err)
	if !strings.Contains(reason, "OOM") || !strings.Contains(reason, "maxmemory") || strings.Contains(reason, srv.Addr()) ||
		strings.Contains(reason, "command not allowed") {
		t.Errorf("ReadyReason(%v) = %q, want it to name OOM and maxmemory, without the address or Redis's text", err, reason)
	}

	if err := admin.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping once memory was freed: %v", err)
	}
	if err := enqueue(); err != nil {
		t.Fatalf("enqueue once memory was freed: %v", err)
	}

	// A failover left it a replica: read-only.
	master := redisproc.Start(t, redisproc.Options{})
	if err := admin.SlaveOf(ctx, "127.0.0.1", strconv.Itoa(master.Port())).Err(); err != nil {
		t.Fatal(err)
	}
	err = p.Ping(ctx)
	if !errors.Is(err, ErrRefusesWrites) || !strings.Contains(ReadyReason(err), "READONLY") {
		t.Fatalf("Ping on a read-only replica = %v (%q), want ErrRefusesWrites naming READONLY", err, ReadyReason(err))
	}
	if err := enqueue(); err == nil || !strings.Contains(err.Error(), "READONLY") {
		t.Errorf("enqueue into a read-only replica: %v, want READONLY", err)
	}
	if err := admin.SlaveOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping once it is a master again: %v", err)
	}

	// Redis away is still "does not answer".
	srv.Stop()
	if err := p.Ping(ctx); err == nil || errors.Is(err, ErrRefusesWrites) || ReadyReason(err) != "redis does not answer" {
		t.Errorf("Ping with Redis stopped = %v (%q), want it not answering", err, ReadyReason(err))
	}
}
