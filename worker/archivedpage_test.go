package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestPageAddedBackRunsItsArchived: replies of a Page that the workers'
// config did not have are archived once their retries run out; when the Page
// is configured again, RunArchivedOfPages (run at every start) sends them,
// and leaves other archived replies alone. The poll would not find them
// again: it reads only posts that changed.
func TestPageAddedBackRunsItsArchived(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 53})
	page, other := h.pages[0], h.pages[1]
	ctx := context.Background()
	enq := &tasks.Enqueuer{Client: asynq.NewClient(h.opt), Ledger: h.ledger, MaxRetry: 0}
	t.Cleanup(func() { _ = enq.Client.Close() })
	rs := h.addComments(page.ID, 5, "Thanks!")
	for _, r := range rs {
		if out, _, err := enq.Enqueue(ctx, r); err != nil || out != tasks.Enqueued {
			t.Fatalf("enqueue: %v %v", out, err)
		}
	}
	// A reply archived for another reason stays archived.
	bad := h.addComments(other.ID, 1, "Thanks!")[0]
	h.sb.SetCanReplyPrivately(bad.Target.ID, false)
	if _, _, err := enq.Enqueue(ctx, bad); err != nil {
		t.Fatal(err)
	}

	// Workers without the Page: its replies fail and are archived.
	h.pages = h.pages[1:]
	w := h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.ShutdownTimeout = time.Second })
	for _, r := range append(rs, bad) {
		h.waitArchived(t, r, 20*time.Second)
	}
	w.Shutdown(ctx)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })

	h.pages = []config.Page{page, other}
	ran, err := worker.RunArchivedOfPages(ctx, enqOn(enq, insp), map[string]bool{page.ID: true, other.ID: true})
	if err != nil || ran[page.ID] != len(rs) || ran[other.ID] != 0 {
		t.Fatalf("ran %v, %v; want %d of %s", ran, err, len(rs), page.ID)
	}
	h.startWorker(t, 4)
	h.waitSent(t, rs, 20*time.Second)
	if ti := h.waitArchived(t, bad, time.Second); ti == nil {
		t.Fatal("the unreplyable reply left the archive")
	}
	h.checkExactlyOnce(t, rs)
}
