package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// failFirstGraph answers the first send with Graph's transient 500 (code 2)
// and passes the others on.
type failFirstGraph struct{ downGraph }

func (g *failFirstGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	g.down.Store(g.sends.Load() == 0)
	return g.downGraph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestPageAddedBackKeepsItsRetries: an operator removes a Page from the
// config while its replies are queued, then adds it back. Meanwhile the
// workers without it used up each reply's worker.max_retry ("is not
// configured on this worker") and archived it; the start with the Page runs
// it again. That rerun must have its retries: Graph was never asked to send
// it. Seen failing when the rerun kept the archived task's retry count: the
// first transient Graph error (a 500) archived the reply again at once, left
// for the next full read (up to 6 hours later), as if every retry had been
// spent on Graph.
func TestPageAddedBackKeepsItsRetries(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 2206})
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	h.enq.Inspector = insp
	h.enq.MaxRetry = 2
	page := h.pages[0]
	r := h.addComments(page.ID, 1, "Thanks!")[0]
	ctx := context.Background()
	fast := func(p *worker.Params) {
		p.MaxRetry = 2
		p.BackoffBase, p.BackoffMax = 10*time.Millisecond, 20*time.Millisecond
	}
	without := h.startWorkerOn(t, h.opt, 2, fast, func(p *worker.Params) {
		p.Pages = []config.Page{{ID: "1000000000000001", AccessToken: "other-page-token", Rate: config.Rate{N: 10, Per: time.Second}, Burst: 1}}
	})
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateArchived)
	without.Shutdown(ctx)

	// The Page is back: the start runs its archived replies again.
	if n, err := worker.RunArchivedOfPages(ctx, h.enq, map[string]bool{page.ID: true}); err != nil || n[page.ID] != 1 {
		t.Fatalf("run archived: %v %v, want 1 run", n, err)
	}
	g := &failFirstGraph{downGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})}}
	h.startWorkerOn(t, h.opt, 2, fast, func(p *worker.Params) { p.Graph = g })
	ti := h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateCompleted, asynq.TaskStateArchived)
	if ti.State != asynq.TaskStateCompleted {
		t.Fatalf("the rerun was archived after %d send(s): %s", g.sends.Load(), ti.LastErr)
	}
	h.waitSent(t, []tasks.Reply{r}, 5*time.Second)
	h.checkExactlyOnce(t, []tasks.Reply{r})
}

// enqOn returns a copy of enq that reads the queues with insp, as
// RunArchivedOfPages needs.
func enqOn(enq *tasks.Enqueuer, insp *asynq.Inspector) *tasks.Enqueuer {
	e := *enq
	e.Inspector = insp
	return &e
}
