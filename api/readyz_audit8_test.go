package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
)

// TestReadyzRedisRefusesWrites: /readyz answers 503 while Redis answers
// PING but refuses writes, when every enqueue fails: at its maxmemory under
// noeviction (filled up, as deploy/redis/redis.conf's policy lets it) with a
// reason naming OOM, as a read-only replica (REPLICAOF, as after a failover)
// with one naming READONLY; neither holds Redis's address or its error
// text, which the WARN line keeps. It is 200 again once memory is freed, and
// once the replica is a master again.
func TestReadyzRedisRefusesWrites(t *testing.T) {
	srv := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory", "1mb", "--maxmemory-policy", "noeviction"}})
	admin := srv.Client()
	ctx := context.Background()
	opt := asynq.RedisClientOpt{Addr: srv.Addr()}
	e := newEnv(t, func(p *api.Params) {
		rdb := tasks.NewRedisClient(opt)
		t.Cleanup(func() { _ = rdb.Close() })
		client := asynq.NewClient(opt)
		t.Cleanup(func() { _ = client.Close() })
		insp := asynq.NewInspector(opt)
		t.Cleanup(func() { _ = insp.Close() })
		p.Ledger = tasks.NewLedger(rdb, tasks.LedgerOptions{})
		p.Enqueuer = &tasks.Enqueuer{Client: client, Ledger: p.Ledger, MaxRetry: 3}
		p.Inspector = insp
		p.RedisConnOpt = opt
		p.Redis = rdb
	})
	// 1 MB of room over what the server and the API's clients use already
	// (Redis counts the clients' buffers: a bare 1mb is full with a few).
	redisproc.Room(t, admin, 1<<20)
	ready := func(want int, reason string) {
		t.Helper()
		status, m := e.do(t, "GET", "/readyz", "", "")
		msg := errMessage(m)
		if status != want || (reason != "" && !strings.Contains(msg, reason)) {
			t.Fatalf("/readyz: %d %v, want %d %s", status, m, want, reason)
		}
		if strings.Contains(msg, srv.Addr()) || strings.Contains(msg, "command not allowed") || strings.Contains(msg, "can't write") {
			t.Errorf("/readyz answers %q: Redis's address or its text", msg)
		}
	}
	ready(200, "")

	keys := redisproc.FillUntilRefused(t, admin)
	ready(503, "OOM")
	ready(503, "redis refuses writes")
	t.Logf("filled with %d keys: /readyz 503", keys)
	if !strings.Contains(e.logs.String(), "OOM command not allowed") {
		t.Errorf("no log line with Redis's error:\n%s", e.logs.String())
	}
	if err := admin.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	ready(200, "")

	master := redisproc.Start(t, redisproc.Options{})
	if err := admin.SlaveOf(ctx, "127.0.0.1", strconv.Itoa(master.Port())).Err(); err != nil {
		t.Fatal(err)
	}
	ready(503, "READONLY")
	if err := admin.SlaveOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	ready(200, "")
}
