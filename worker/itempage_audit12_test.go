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

// TestItemOfPageAddedRunsOnceConfigured_audit12: a rolling update adds a Page;
// an api process already on the new config queues Meta's webhook item for a
// comment of it, and a worker still on the old config takes the item. Meta
// does not deliver again a change answered 200, and the poll never finds some
// of what only the webhook brings (a Reel's comment without reels, a comment
// shown late), so the item must wait for a worker with the Page, as a reply
// of a Page this worker lacks does, and the start of that worker must run it
// again if the old workers archived it meanwhile. Seen failing before the
// fix: the old worker archived the item at once (SkipRetry) and nothing ran
// it again: the comment never got its reply.
func TestItemOfPageAddedRunsOnceConfigured_audit12(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 1206})
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	h.enq.Inspector = insp
	pages := pollPages(h)
	for i := range pages {
		pages[i].DefaultText = "Thanks!"
	}
	added, old := pages[0], pages[1]
	post := h.sb.AddPost(added.ID, sandbox.User{ID: added.ID}, "A post", time.Now().Add(-time.Hour))
	comment := h.sb.AddComment(post, sandbox.User{ID: "77001", Name: "Ann Visitor"}, "hello", time.Now().Add(-time.Minute))
	ctx := context.Background()
	it := tasks.WebhookItem{PageID: added.ID, Kind: tasks.KindComment, ID: comment, PostID: post}
	if out, err := h.enq.EnqueueWebhookItem(ctx, it); err != nil || out != tasks.Enqueued {
		t.Fatalf("enqueue webhook item: %v %v", out, err)
	}

	// A worker on the old config, without the added Page, takes the item
	// until asynq archives it.
	oldPages := []config.Page{old}
	without := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Pages = oldPages
		p.Poll = worker.NewPollHandler(h.pollParams(oldPages))
	})
	deadline := time.Now().Add(30 * time.Second)
	var ti *asynq.TaskInfo
	for {
		var err error
		ti, err = insp.GetTaskInfo(tasks.QueuePolls, it.TaskID())
		if err == nil && ti.State == asynq.TaskStateArchived {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the item was not archived by the worker without its Page: %v %v", ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	without.Shutdown(ctx)
	if ti.Retried == 0 {
		t.Errorf("the item was archived at its first run (%q): a worker without its Page must leave it to one with it, as it does a reply", ti.LastErr)
	}

	// The new config's start runs it again, and its worker sends the reply.
	if n, err := worker.RunArchivedItemsOfPages(ctx, h.enq, map[string]bool{added.ID: true, old.ID: true}); err != nil || n[added.ID] != 1 {
		t.Fatalf("run archived webhook items: %v %v, want 1 of %s", n, err, added.ID)
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Pages = pages
		p.Poll = worker.NewPollHandler(h.pollParams(pages))
	})
	r := tasks.Reply{PageID: added.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: comment}}
	h.waitSent(t, []tasks.Reply{r}, 20*time.Second)
	if n := h.sb.SendCount(comment); n != 1 {
		t.Errorf("the comment got %d replies, want 1", n)
	}
}
