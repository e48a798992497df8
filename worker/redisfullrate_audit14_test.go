package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestRedisFullSendsNothing_audit14 is TestRedisFullUsesNoRetry on a Page
// with a rate: while the ledger's Redis is full (OOM under noeviction) no
// reply is sent, and once it takes writes again each gets its one reply.
// Before, a reservation that restarted the Page's idle send schedule
// deleted its put-back schedule first; Redis lets a script that has written
// go on past its maxmemory, so the claim was taken and the reply sent while
// Redis could record neither its outcome nor the task's, and every such
// reply then waited out its claim's lease and asked Graph before it was
// recorded.
func TestRedisFullSendsNothing_audit14(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1420})
	full := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory-policy", "noeviction"}})
	admin := full.Client()
	ctx := context.Background()
	ledger := tasks.NewLedger(tasks.NewRedisClient(asynq.RedisClientOpt{Addr: full.Addr()}), tasks.LedgerOptions{Batch: true})
	t.Cleanup(ledger.Close)
	// The Page's put-back schedule exists (an earlier backlog), so restarting
	// the send schedule deletes it.
	if err := admin.Set(ctx, "pagereply:{"+h.pages[0].ID+"}:back", "1", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "1").Err(); err != nil {
		t.Fatal(err)
	}
	rs := h.addComments(h.pages[0].ID, 3, "Thanks")
	h.enqueueAll(t, rs)
	if h.pages[0].Rate.N == 0 {
		t.Fatal("the harness's Page has no rate: the test proves nothing")
	}
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Ledger, p.MaxRetry = ledger, 1 })

	for deadline := time.Now().Add(15 * time.Second); redisproc.OOMRefusals(t, admin) < 3*len(rs); time.Sleep(20 * time.Millisecond) {
		if len(h.sb.Sends()) > 0 {
			break // checked below
		}
		if time.Now().After(deadline) {
			t.Fatalf("the full Redis refused %d writes, want %d (queues: %s)", redisproc.OOMRefusals(t, admin), 3*len(rs), h.queueSummary())
		}
	}
	if sends := len(h.sb.Sends()); sends != 0 {
		t.Fatalf("%d replies sent while the ledger's Redis was full", sends)
	}
	if err := admin.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	h.waitSentOn(t, ledger, rs, 30*time.Second)
	h.checkExactlyOnce(t, rs)
}

// waitSentOn is waitSent on another ledger than the harness's.
func (h *harness) waitSentOn(t *testing.T, l *tasks.Ledger, rs []tasks.Reply, timeout time.Duration) {
	t.Helper()
	old := h.ledger
	h.ledger = l
	defer func() { h.ledger = old }()
	h.waitSent(t, rs, timeout)
}
