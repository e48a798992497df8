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

// TestUnknownPageRetried: during a rolling update a reply for a Page just
// added to the config can reach a worker still on the old config. It is
// retried, not archived, and a worker with the new config sends it.
func TestUnknownPageRetried(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 59})
	r := h.addComments(h.pages[0].ID, 1, "Hello")[0]
	old := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Pages = []config.Page{{ID: "1000000000000001", AccessToken: "other-page-token", Rate: config.Rate{N: 10, Per: time.Second}, Burst: 1}}
	})
	ctx := context.Background()
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
		if err == nil && ti.State == asynq.TaskStateArchived {
			t.Fatalf("reply for a Page the worker does not know archived: %s", ti.LastErr)
		}
		if err == nil && ti.Retried >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply not retried: %+v %v", ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	old.Shutdown(ctx)
	h.startWorker(t, 2)
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	h.checkExactlyOnce(t, []tasks.Reply{r})
}
