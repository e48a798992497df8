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

// TestUnknownPageItemArchivedRunAgainByRunningWorker_audit19: a webhook item
// of a Page is archived by a worker whose config lacks the Page (its
// retries used up there) while a worker with the Page is running, past its
// start (which alone ran such items before). The running worker's periodic
// round (StalePausesCheckedEvery) runs the item again: the comment gets its
// reply, once. Nothing else would read it: Meta does not deliver again a
// change answered 200, and no poll runs in this test.
func TestUnknownPageItemArchivedRunAgainByRunningWorker_audit19(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 1907})
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	pages := pollPages(h)
	for i := range pages {
		pages[i].DefaultText = "Thanks!"
	}
	added, old := pages[0], pages[1]
	post := h.sb.AddPost(added.ID, sandbox.User{ID: added.ID}, "A post", time.Now().Add(-time.Hour))
	comment := h.sb.AddComment(post, sandbox.User{ID: "77019", Name: "Ann Visitor"}, "hello", time.Now().Add(-time.Minute))
	ctx := context.Background()

	it := tasks.WebhookItem{PageID: added.ID, Kind: tasks.KindComment, ID: comment, PostID: post}
	if out, err := h.enq.EnqueueWebhookItem(ctx, it); err != nil || out != tasks.Enqueued {
		t.Fatalf("enqueue webhook item: %v %v", out, err)
	}

	// The worker without the Page takes the item until asynq archives it.
	oldPages := []config.Page{old}
	without := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Pages = oldPages
		p.Poll = worker.NewPollHandler(h.pollParams(oldPages))
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueuePolls, it.TaskID())
		if err == nil && ti.State == asynq.TaskStateArchived {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the item was not archived by the worker without its Page: %v %v", ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	without.Shutdown(ctx)

	// The worker with the Page, started now, runs nothing archived at its
	// start (pagereply's start does, not worker.Start): only its periodic
	// round can run the item again.
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Pages = pages
		p.Poll = worker.NewPollHandler(h.pollParams(pages))
		p.Enqueuer = h.enq
		p.StalePausesCheckedEvery = 300 * time.Millisecond
	})
	r := tasks.Reply{PageID: added.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: comment}}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	h.waitQuiet(t, 10*time.Second)
	if n := h.sb.SendCount(comment); n != 1 {
		t.Errorf("the comment got %d replies, want 1", n)
	}
	if ti, err := insp.GetTaskInfo(tasks.QueuePolls, it.TaskID()); err == nil && ti.State == asynq.TaskStateArchived {
		t.Errorf("the item is archived again: %q", ti.LastErr)
	}
}
