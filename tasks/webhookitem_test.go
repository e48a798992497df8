package tasks

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestWebhookItemReplacesArchived: a webhook item archived after its retries
// (Graph or Redis away longer than they last) is queued again by a
// redelivery of the same change, which before was taken for "already
// queued" and dropped. A redelivery of an item still queued, or done, is
// not queued again.
func TestWebhookItemReplacesArchived(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	it := WebhookItem{PageID: "7", Kind: KindComment, ID: "7_1_2"}
	if o, err := e.EnqueueWebhookItem(ctx, it); err != nil || o != Enqueued {
		t.Fatalf("first delivery: %v %v", o, err)
	}
	if o, err := e.EnqueueWebhookItem(ctx, it); err != nil || o != AlreadyQueued {
		t.Fatalf("redelivery of a queued item: %v %v, want already queued", o, err)
	}
	if err := insp.ArchiveTask(QueuePolls, it.TaskID()); err != nil {
		t.Fatal(err)
	}
	if o, err := e.EnqueueWebhookItem(ctx, it); err != nil || o != Enqueued {
		t.Fatalf("redelivery of an archived item: %v %v, want enqueued", o, err)
	}
	ti, err := insp.GetTaskInfo(QueuePolls, it.TaskID())
	if err != nil || ti.State != asynq.TaskStatePending || ti.MaxRetry != WebhookItemMaxRetry {
		t.Fatalf("item after the redelivery: %+v %v", ti, err)
	}
	if o, err := e.EnqueueWebhookItem(ctx, it); err != nil || o != AlreadyQueued {
		t.Fatalf("redelivery of the queued item again: %v %v, want already queued", o, err)
	}
}

// TestWebhookItemRedeliveryReadFails: a redelivery of an item whose task is
// archived, when reading that task fails (Redis trouble on that call), is an
// error, so the webhook answers one and Meta delivers the change again:
// before, it was taken for "already queued", the delivery answered 200, and
// nothing was queued.
func TestWebhookItemRedeliveryReadFails(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	e, insp := inspectingEnqueuerOn(t, db)
	it := WebhookItem{PageID: "7", Kind: KindComment, ID: "7_1_3"}
	if _, err := e.EnqueueWebhookItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	if err := insp.ArchiveTask(QueuePolls, it.TaskID()); err != nil {
		t.Fatal(err)
	}
	cut := redistest.NewCut(t, db.Addr)
	cut.Down()
	broken := asynq.NewInspector(asynq.RedisClientOpt{Addr: cut.Addr(), DB: db.DB})
	t.Cleanup(func() { _ = broken.Close() })
	e.Inspector = broken
	if o, err := e.EnqueueWebhookItem(ctx, it); err == nil {
		t.Fatalf("redelivery with its archived task unreadable: %v, no error", o)
	}
	e.Inspector = insp
	if o, err := e.EnqueueWebhookItem(ctx, it); err != nil || o != Enqueued {
		t.Fatalf("the next redelivery: %v %v, want enqueued", o, err)
	}
}
