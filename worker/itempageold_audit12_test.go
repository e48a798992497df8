package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestItemArchivedByOldWorkerRunsOnceConfigured_audit12: the rolling update
// that brings RunArchivedItemsOfPages is also one that may add a Page: the
// workers still on the version before it archive the added Page's webhook
// items at once, with that version's error ("webhook item of page P: worker:
// page is not configured: ..."). The new workers' start runs those again
// too, not only the ones archived with this version's words. Seen failing
// before the fix: only this version's archived items were run, and the
// comment never got its reply.
func TestItemArchivedByOldWorkerRunsOnceConfigured_audit12(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1213})
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	h.enq.Inspector = insp
	page := h.pages[0].ID
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "A post", time.Now().Add(-time.Hour))
	comment := h.sb.AddComment(post, sandbox.User{ID: "77011", Name: "Ann Visitor"}, "hello", time.Now().Add(-time.Minute))
	ctx := context.Background()
	it := tasks.WebhookItem{PageID: page, Kind: tasks.KindComment, ID: comment, PostID: post}
	if out, err := h.enq.EnqueueWebhookItem(ctx, it); err != nil || out != tasks.Enqueued {
		t.Fatalf("enqueue webhook item: %v %v", out, err)
	}
	// The worker of the version before: the item of a Page it lacks is
	// archived at once, with that version's error.
	old := asynq.NewServer(h.opt, asynq.Config{Concurrency: 1, Queues: map[string]int{tasks.QueuePolls: 1}, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeWebhookItem, func(context.Context, *asynq.Task) error {
		return fmt.Errorf("webhook item of page %s: %w: %w", page, worker.ErrUnknownPage, asynq.SkipRetry)
	})
	if err := old.Start(mux); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ti, err := insp.GetTaskInfo(tasks.QueuePolls, it.TaskID()); err == nil && ti.State == asynq.TaskStateArchived {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the old worker did not archive the item")
		}
	}
	old.Shutdown()
	if n, err := worker.RunArchivedItemsOfPages(ctx, h.enq, map[string]bool{page: true}); err != nil || n[page] != 1 {
		t.Fatalf("run archived webhook items: %v %v, want 1 of %s", n, err, page)
	}
}
