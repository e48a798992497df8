package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestUnknownPageArchivedPastWindowNotSent_audit19: a reply a worker
// without its Page archived, whose reply window has ended since, is run
// again by the periodic round of a running worker with the Page, which
// archives it with the window's reason and sends nothing; the next rounds
// leave it archived (its last error is no longer the missing Page's).
func TestUnknownPageArchivedPastWindowNotSent_audit19(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1913})
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	page := h.pages[0].ID
	r := h.addComments(page, 1, "Hello")[0]
	r.Created = time.Now().Add(-60 * 24 * time.Hour).UnixMilli() // past any Page's window
	without := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Pages = []config.Page{{ID: "1000000000000001", AccessToken: "other-page-token", Rate: config.Rate{N: 10, Per: time.Second}, Burst: 1}}
		p.MaxRetry = 2
	})
	h.enqueueAll(t, []tasks.Reply{r})
	ti := h.waitArchived(t, r, 30*time.Second)
	if !strings.Contains(ti.LastErr, "is not configured on this worker") {
		t.Fatalf("archived with %q, want the missing Page's error", ti.LastErr)
	}
	without.Shutdown(context.Background())

	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Enqueuer = h.enq
		p.StalePausesCheckedEvery = 200 * time.Millisecond
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, ti.ID)
		if err == nil && ti.State == asynq.TaskStateArchived && strings.Contains(ti.LastErr, "reply window") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reply was not run again and archived for its window: %+v %v", ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Fatalf("the comment got %d replies past its window, want 0", n)
	}
	if e, err := h.ledger.Get(context.Background(), page, r.Target); err != nil || e.Status == tasks.StatusSent {
		t.Fatalf("entry %+v %v", e, err)
	}
}
