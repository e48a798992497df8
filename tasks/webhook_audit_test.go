package tasks

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// TestWebhookItemValidate: an item names a numeric Page, a comment or a post,
// and Graph ids; anything else is refused before it is queued or handled (an
// id goes into a TaskID, a Redis key and a Graph URL path).
func TestWebhookItemValidate(t *testing.T) {
	good := WebhookItem{PageID: "100", Kind: KindComment, ID: "100_1_2", PostID: "100_1"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good item: %v", err)
	}
	post := WebhookItem{PageID: "100", Kind: KindPost, ID: "100_1"}
	if err := post.Validate(); err != nil {
		t.Fatalf("visitor post without post_id: %v", err)
	}
	for name, it := range map[string]WebhookItem{
		"page not numeric":  {PageID: "10a", Kind: KindComment, ID: "1_2"},
		"page empty":        {Kind: KindComment, ID: "1_2"},
		"kind message":      {PageID: "100", Kind: KindMessage, ID: "m_1"},
		"id with a slash":   {PageID: "100", Kind: KindComment, ID: "1/2"},
		"id with a space":   {PageID: "100", Kind: KindComment, ID: "1 2"},
		"id empty":          {PageID: "100", Kind: KindComment},
		"post_id malformed": {PageID: "100", Kind: KindComment, ID: "1_2", PostID: "1/../2"},
	} {
		if err := it.Validate(); err == nil {
			t.Errorf("%s: %+v passes Validate", name, it)
		}
		if _, err := DecodeWebhookItem([]byte(`{"page_id":"` + it.PageID + `","kind":"` + string(it.Kind) + `","id":"` + it.ID +
			`","post_id":"` + it.PostID + `"}`)); err == nil {
			t.Errorf("%s: DecodeWebhookItem takes it", name)
		}
	}
}

// TestWebhookItemTask: the queued task is on the polls queue, keeps the
// webhook's ReceivedAt (stamped with the enqueuer's clock only when unset),
// is retried WebhookItemMaxRetry times and kept WebhookItemRetention after it
// finishes, so that Meta's redeliveries dedup on it. A comment and a post of
// the same id are two items.
func TestWebhookItemTask(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	clock := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	e.Now = func() time.Time { return clock }
	stamped := WebhookItem{PageID: "7", Kind: KindComment, ID: "7_1_2", ReceivedAt: 1234}
	unstamped := WebhookItem{PageID: "7", Kind: KindPost, ID: "7_1_2"}
	for _, it := range []WebhookItem{stamped, unstamped} {
		if o, err := e.EnqueueWebhookItem(ctx, it); err != nil || o != Enqueued {
			t.Fatalf("%s: %v %v", it.TaskID(), o, err)
		}
	}
	for it, want := range map[WebhookItem]int64{stamped: 1234, unstamped: clock.UnixMilli()} {
		ti, err := insp.GetTaskInfo(QueuePolls, it.TaskID())
		if err != nil {
			t.Fatalf("%s: %v", it.TaskID(), err)
		}
		got, err := DecodeWebhookItem(ti.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if got.ReceivedAt != want {
			t.Errorf("%s: received_at %d, want %d", it.TaskID(), got.ReceivedAt, want)
		}
		if ti.Type != TypeWebhookItem || ti.MaxRetry != WebhookItemMaxRetry || ti.Retention != WebhookItemRetention {
			t.Errorf("%s: type %s max retry %d retention %s, want %s %d %s", it.TaskID(), ti.Type, ti.MaxRetry, ti.Retention,
				TypeWebhookItem, WebhookItemMaxRetry, WebhookItemRetention)
		}
		if ti.State != asynq.TaskStatePending {
			t.Errorf("%s: state %s, want pending", it.TaskID(), ti.State)
		}
	}
}
