package worker_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestRedisFullUsesNoRetry: while the ledger's Redis is full (its maxmemory
// reached under maxmemory-policy noeviction, as deploy/redis/redis.conf sets
// it: every write answers "OOM command not allowed ...", reads still work),
// replies go back on the queue without using a retry, as they do while Redis
// is away (TestRedisAwayUsesNoRetry), so a Redis full for longer than
// worker.max_retry's backoffs archives none; once it takes writes again each
// gets its one reply. Before, each refused reservation used a retry, and with
// max_retry 1 the second archived a reply never sent.
func TestRedisFullUsesNoRetry(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 12})
	full := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory-policy", "noeviction"}})
	admin := full.Client()
	ctx := context.Background()
	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	ledger := tasks.NewLedger(tasks.NewRedisClient(asynq.RedisClientOpt{Addr: full.Addr()}), tasks.LedgerOptions{Batch: true})
	t.Cleanup(ledger.Close)
	rs := h.addComments(h.pages[0].ID, 2, "Thanks")
	h.enqueueAll(t, rs)
	// A Page without a rate: its reservation's first write is the claim's
	// SET, which the full Redis refuses. (With a rate it is too: a
	// reservation that restarts the Page's schedule deletes its put-back
	// key after the claims, TestRedisFullSendsNothing_audit14.)
	pages := slices.Clone(h.pages)
	pages[0].Rate = config.Rate{}
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Ledger, p.MaxRetry, p.Pages = ledger, 1, pages })

	// Each reply is refused at least three times (the count is Redis's own):
	// with max_retry 1 a second refusal that used a retry archives it.
	h.waitRefusedNoRetry(t, rs, func() int { return redisproc.OOMRefusals(t, admin) }, "Redis was full")

	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	h.waitSentOn(t, ledger, rs, 15*time.Second)
	h.checkExactlyOnce(t, rs)
}

// waitRefusedNoRetry waits until Redis has refused at least three writes per
// reply (refusals counts them, as Redis does) or a reply was archived, then
// fails the test unless every reply was put back without using a retry and
// none was sent: what a reply does while Redis refuses writes (while says
// why, for the messages).
func (h *harness) waitRefusedNoRetry(t *testing.T, rs []tasks.Reply, refusals func() int, while string) {
	t.Helper()
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	for deadline := time.Now().Add(15 * time.Second); refusals() < 3*len(rs); time.Sleep(20 * time.Millisecond) {
		if qi, err := insp.GetQueueInfo(tasks.QueueReplies); err == nil && qi.Archived > 0 {
			break // checked below
		}
		if time.Now().After(deadline) {
			t.Fatalf("while %s, Redis refused %d writes, want %d (queues: %s)", while, refusals(), 3*len(rs), h.queueSummary())
		}
	}
	for _, r := range rs {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
		if err != nil {
			t.Fatal(err)
		}
		if ti.State == asynq.TaskStateArchived || ti.Retried != 0 {
			t.Errorf("while %s, %s is %s after %d retries (%s); want it put back without using one",
				while, r.Target, ti.State, ti.Retried, ti.LastErr)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	if sends := len(h.sb.Sends()); sends != 0 {
		t.Fatalf("%d replies sent while the ledger could record no claim", sends)
	}
}
