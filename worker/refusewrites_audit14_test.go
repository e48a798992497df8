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
// refuses writes for want of replicas (NOREPLICAS, min-replicas-to-write;
// MISCONF, a failed snapshot under stop-writes-on-bgsave-error, is the same
// case, tasks.RedisAway), replies go back on the queue without using a
// retry, as while it is full (TestRedisFullUsesNoRetry), and once it takes
// writes again each gets its one reply. Before, each refusal used a retry,
// and with max_retry 1 the second archived a reply never sent.
func TestRedisRefusingWritesUsesNoRetry_audit14(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1416})
	srv := redisproc.Start(t, redisproc.Options{Args: []string{"--min-replicas-to-write", "1"}})
	admin := srv.Client()
	ctx := context.Background()
	ledger := tasks.NewLedger(tasks.NewRedisClient(asynq.RedisClientOpt{Addr: srv.Addr()}), tasks.LedgerOptions{Batch: true})
	t.Cleanup(ledger.Close)
	rs := h.addComments(h.pages[0].ID, 2, "Thanks")
	h.enqueueAll(t, rs)
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Ledger, p.MaxRetry = ledger, 1 })

	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	for deadline := time.Now().Add(15 * time.Second); errorCount(t, admin, "NOREPLICAS") < 3*len(rs); time.Sleep(20 * time.Millisecond) {
		if qi, err := insp.GetQueueInfo(tasks.QueueReplies); err == nil && qi.Archived > 0 {
			break // checked below
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis refused %d writes, want %d (queues: %s)", errorCount(t, admin, "NOREPLICAS"), 3*len(rs), h.queueSummary())
		}
	}
	for _, r := range rs {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
		if err != nil {
			t.Fatal(err)
		}
		if ti.State == asynq.TaskStateArchived || ti.Retried != 0 {
			t.Errorf("while Redis refused writes, %s is %s after %d retries (%s); want it put back without using one",
				r.Target, ti.State, ti.Retried, ti.LastErr)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if sends := len(h.sb.Sends()); sends != 0 {
		t.Fatalf("%d replies sent while the ledger could record no claim", sends)
	}

	if err := admin.ConfigSet(ctx, "min-replicas-to-write", "0").Err(); err != nil {
		t.Fatal(err)
	}
	targets := make([]tasks.Target, len(rs))
	for i, r := range rs {
		targets[i] = r.Target
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		es, err := ledger.GetMany(ctx, h.pages[0].ID, targets)
		if err != nil {
			t.Fatal(err)
		}
		sent := 0
		for _, e := range es {
			if e.Status == tasks.StatusSent {
				sent++
			}
		}
		if sent == len(rs) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d replies sent once Redis took writes again (queues: %s)", sent, len(rs), h.queueSummary())
		}
	}
	h.checkExactlyOnce(t, rs)
}
