package worker_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// errorCount is how many commands the Redis c talks to refused with code
// (its errorstats).
func errorCount(t *testing.T, c *redis.Client, code string) int {
	t.Helper()
	info, err := c.Info(context.Background(), "errorstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "errorstat_"+code+":count="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("errorstats: %q", line)
			}
			return n
		}
	}
	return 0
}

// TestRedisRefusingWritesUsesNoRetry_audit14: while the ledger's Redis
// answers but refuses writes for want of replicas (NOREPLICAS,
// min-replicas-to-write), after a failed snapshot (MISCONF, under
// stop-writes-on-bgsave-error) or as a read-only replica (READONLY: a master
// demoted, its own master out of reach), replies go back on the queue
// without using a retry, as while it is full (TestRedisFullUsesNoRetry), and
// once it takes writes again each gets its one reply. Before, each NOREPLICAS
// or MISCONF refusal used a retry, and with max_retry 1 the second archived
// a reply never sent.
func TestRedisRefusingWritesUsesNoRetry_audit14(t *testing.T) {
	for _, tc := range []struct {
		code   string
		args   []string
		refuse func(t *testing.T, srv *redisproc.Server)
		allow  []any
	}{
		{"NOREPLICAS", []string{"--min-replicas-to-write", "1"}, nil, []any{"CONFIG", "SET", "min-replicas-to-write", "0"}},
		{"READONLY", nil, func(t *testing.T, srv *redisproc.Server) {
			if err := srv.Client().Do(context.Background(), "REPLICAOF", "127.0.0.1", "1").Err(); err != nil {
				t.Fatal(err)
			}
		}, []any{"REPLICAOF", "NO", "ONE"}},
		{"MISCONF", []string{"--save", "3600 1", "--stop-writes-on-bgsave-error", "yes"}, func(_ *testing.T, srv *redisproc.Server) { srv.FailSnapshot() },
			[]any{"CONFIG", "SET", "stop-writes-on-bgsave-error", "no"}},
	} {
		t.Run(tc.code, func(t *testing.T) {
			t.Parallel()
			srv := redisproc.Start(t, redisproc.Options{Args: tc.args})
			if tc.refuse != nil {
				tc.refuse(t, srv)
			}
			refusingWritesUsesNoRetry(t, srv, tc.code, tc.allow)
		})
	}
}

func refusingWritesUsesNoRetry(t *testing.T, srv *redisproc.Server, code string, allow []any) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1416})
	admin := srv.Client()
	ctx := context.Background()
	ledger := tasks.NewLedger(tasks.NewRedisClient(asynq.RedisClientOpt{Addr: srv.Addr()}), tasks.LedgerOptions{Batch: true})
	t.Cleanup(ledger.Close)
	rs := h.addComments(h.pages[0].ID, 2, "Thanks")
	h.enqueueAll(t, rs)
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Ledger, p.MaxRetry = ledger, 1 })

	h.waitRefusedNoRetry(t, rs, func() int { return errorCount(t, admin, code) }, "Redis refused writes ("+code+")")

	if err := admin.Do(ctx, allow...).Err(); err != nil {
		t.Fatal(err)
	}
	h.waitSentOn(t, ledger, rs, 15*time.Second)
	h.checkExactlyOnce(t, rs)
}
