package tasks

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

// webhookItems returns n comment items of Page 7 numbered from first.
func webhookItems(first, n int) []WebhookItem {
	its := make([]WebhookItem, n)
	for i := range its {
		its[i] = WebhookItem{PageID: "7", Kind: KindComment, ID: fmt.Sprintf("7_1_%d", first+i), PostID: "7_1"}
	}
	return its
}

// TestWebhookItemsBatch: EnqueueWebhookItems answers what EnqueueWebhookItem
// would, item by item, across more than one lookup's worth of items: an item
// queued already is AlreadyQueued, one archived is queued again, a new one is
// queued once even when the delivery names it twice, and a redelivery of the
// whole delivery queues nothing more.
func TestWebhookItemsBatch(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	its := webhookItems(0, webhookItemsChunk+100)
	queuedBefore := map[int]bool{3: true, webhookItemsChunk + 7: true}
	archivedBefore := map[int]bool{5: true, webhookItemsChunk + 9: true}
	for i := range its {
		if queuedBefore[i] || archivedBefore[i] {
			if o, err := e.EnqueueWebhookItem(ctx, its[i]); err != nil || o != Enqueued {
				t.Fatalf("item %d before: %v %v", i, o, err)
			}
		}
		if archivedBefore[i] {
			if err := insp.ArchiveTask(QueuePolls, its[i].TaskID()); err != nil {
				t.Fatal(err)
			}
		}
	}
	delivery := append(append([]WebhookItem(nil), its...), its[10], its[webhookItemsChunk+20])
	outs, err := e.EnqueueWebhookItems(ctx, delivery)
	if err != nil || len(outs) != len(delivery) {
		t.Fatalf("delivery: %d outcomes for %d items, %v", len(outs), len(delivery), err)
	}
	for i, o := range outs {
		want := Enqueued
		if queuedBefore[i] || i >= len(its) {
			want = AlreadyQueued
		}
		if o != want {
			t.Errorf("item %d (%s): %s, want %s", i, delivery[i].ID, o, want)
		}
	}
	for i := range its {
		ti, err := insp.GetTaskInfo(QueuePolls, its[i].TaskID())
		if err != nil || ti.State != asynq.TaskStatePending {
			t.Fatalf("item %d after the delivery: %+v %v, want pending", i, ti, err)
		}
	}
	outs, err = e.EnqueueWebhookItems(ctx, delivery)
	if err != nil || len(outs) != len(delivery) {
		t.Fatalf("redelivery: %d outcomes for %d items, %v", len(outs), len(delivery), err)
	}
	for i, o := range outs {
		if o != AlreadyQueued {
			t.Errorf("redelivery, item %d: %s, want already queued", i, o)
		}
	}
	info, err := insp.GetQueueInfo(QueuePolls)
	if err != nil || info.Size != len(its) {
		t.Fatalf("%+v %v: want %d tasks", info, err, len(its))
	}
}

// TestWebhookItemsEnqueueFails: an enqueue that fails is the batch's error,
// its own (not the cancellation of the others), with the outcomes of the
// items before it; the redelivery queues what is left.
func TestWebhookItemsEnqueueFails(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	e, insp := inspectingEnqueuerOn(t, db)
	its := webhookItems(0, 40)
	const bad = 17
	rdb := redis.NewClient(&redis.Options{Addr: db.Addr, DB: db.DB})
	t.Cleanup(func() { _ = rdb.Close() })
	rdb.AddHook(failCmd(its[bad].TaskID(), "evalsha", "eval"))
	good := e.Client
	e.Client = asynq.NewClientFromRedisClient(rdb)
	outs, err := e.EnqueueWebhookItems(ctx, its)
	// asynq keeps the hook's error as text only.
	if err == nil || !strings.Contains(err.Error(), its[bad].TaskID()) || !strings.Contains(err.Error(), errHooked.Error()) {
		t.Fatalf("error %v, want the failed enqueue's", err)
	}
	if len(outs) != bad {
		t.Fatalf("%d outcomes, want those of the %d items before the failed one", len(outs), bad)
	}
	for i, o := range outs {
		if o != Enqueued {
			t.Fatalf("item %d: %s, want enqueued", i, o)
		}
	}
	e.Client = good
	outs, err = e.EnqueueWebhookItems(ctx, its)
	if err != nil || len(outs) != len(its) {
		t.Fatalf("redelivery: %d outcomes, %v", len(outs), err)
	}
	if outs[bad] != Enqueued {
		t.Fatalf("redelivery of the failed item: %s, want enqueued", outs[bad])
	}
	info, err := insp.GetQueueInfo(QueuePolls)
	if err != nil || info.Size != len(its) {
		t.Fatalf("%+v %v: want %d tasks", info, err, len(its))
	}
}

// TestWebhookItemsLookupFails: when the lookup of the items' tasks fails, the
// batch fails without queuing anything (the webhook answers 503, Meta
// delivers the changes again), rather than taking the items for new or for
// queued.
func TestWebhookItemsLookupFails(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	e, insp := inspectingEnqueuerOn(t, db)
	cut := redistest.NewCut(t, db.Addr)
	cut.Down()
	rdb := redis.NewClient(&redis.Options{Addr: cut.Addr(), DB: db.DB, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	e.Ledger = NewLedger(rdb, LedgerOptions{})
	outs, err := e.EnqueueWebhookItems(ctx, webhookItems(0, 5))
	if err == nil || len(outs) != 0 {
		t.Fatalf("%v %v: want no outcome and an error", outs, err)
	}
	if info, err := insp.GetQueueInfo(QueuePolls); err == nil && info.Size != 0 {
		t.Fatalf("%d tasks queued, want none", info.Size)
	}
}
