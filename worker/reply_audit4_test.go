package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestSettledDoubtRedisErrorNotGraphs: an attempt finds that an earlier one
// sent the reply, and Redis refuses to record it: that is Redis's failure,
// not Graph's, and Graph, which answered, is not counted as failing
// (pagereply_replies_failed_total), nor the reply as failed; the rerun
// records it as sent and counts it once. Handled as a failed check, the
// Redis error was counted as a transient Graph failure.
func TestSettledDoubtRedisErrorNotGraphs(t *testing.T) {
	t.Parallel() // mostly waits out the claim's lease
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 47})
	page := h.pages[0].ID
	r := h.addComments(page, 1, "Hello")[0]
	if err := h.ledger.MarkUnknown(context.Background(), r.PageID, r.Target, 0); err != nil {
		t.Fatal(err)
	}
	hook := failSentMark()
	ledger := hook.ledger(t, h)
	hook.armed.Store(false) // armed by doubtGraph when it is first asked
	g := &doubtGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), hook: hook}
	m := metrics.New()
	m.InitPages([]string{page})
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.Graph, p.Metrics = ledger, g, m })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 40*time.Second)
	if hook.failed.Load() == 0 {
		t.Fatal("the Redis error was never seen: the test proves nothing")
	}
	if got := counterValues(t, m.RepliesFailed, page); len(got) != 0 {
		t.Errorf("pagereply_replies_failed_total = %v for a reply Graph had, whose record Redis refused once", got)
	}
	if n := g.sends.Load(); n != 0 {
		t.Errorf("%d sends for a reply Graph already had", n)
	}
}
