package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TypeWebhookItem resolves one item a webhook delivery named (read it from
// Graph, check eligibility, enqueue its reply). Its name starts with TypePoll
// on purpose: asynq's ServeMux routes by longest prefix, so the poll handler
// mounted for TypePoll receives it too, and the webhook's Graph reads run in
// the worker, never while Meta waits for the HTTP answer.
const TypeWebhookItem = TypePoll + ":webhook"

// WebhookItemRetention is how long a finished webhook item task is kept, so
// that Meta's redeliveries of the same change (for hours) conflict on its
// TaskID instead of costing a Graph read each. The ledger, not this, is what
// keeps a reply from being sent twice.
const WebhookItemRetention = 6 * time.Hour

// WebhookItemMaxRetry is how often a webhook item is retried; the next poll
// is the reconciler for whatever it still misses. Meta does not deliver again
// a change answered 200, so the retries must outlast a Graph or Redis outage
// of some minutes: ten, with the worker's backoff (1 s doubling, at most
// 10 min), span about 17 minutes. (Five spanned half a minute, and a comment
// on a post the poll no longer walks to was then lost.)
const WebhookItemMaxRetry = 10

// WebhookItem is the payload of a TypeWebhookItem task: a comment or a
// visitor's post of a Page. It never carries a token.
type WebhookItem struct {
	PageID string `json:"page_id"`
	// Kind is KindComment or KindPost.
	Kind Kind   `json:"kind"`
	ID   string `json:"id"`
	// PostID is the post a comment is on, when the delivery named it.
	PostID string `json:"post_id,omitempty"`
	// ReceivedAt is when the webhook took the delivery, Unix milliseconds.
	ReceivedAt int64 `json:"received_at"`
}

// Validate checks an item before it is enqueued or handled.
func (it *WebhookItem) Validate() error {
	switch {
	case !isDigits(it.PageID):
		return errors.New("page_id: must be a numeric Page id")
	case it.Kind != KindComment && it.Kind != KindPost:
		return errors.New("kind: must be comment or post")
	case !validID(it.ID):
		return errors.New("id: missing or malformed")
	case it.PostID != "" && !validID(it.PostID):
		return errors.New("post_id: malformed")
	}
	return nil
}

// TaskID is the item's TaskID: "webhook:<kind>:<id>".
func (it *WebhookItem) TaskID() string { return "webhook:" + string(it.Kind) + ":" + it.ID }

// DecodeWebhookItem decodes and validates a webhook item payload.
func DecodeWebhookItem(b []byte) (WebhookItem, error) {
	var it WebhookItem
	if err := json.Unmarshal(b, &it); err != nil {
		return WebhookItem{}, fmt.Errorf("decode webhook item: %w", err)
	}
	if err := it.Validate(); err != nil {
		return WebhookItem{}, fmt.Errorf("decode webhook item: %w", err)
	}
	return it, nil
}

// EnqueueWebhookItem queues it on QueuePolls. It returns AlreadyQueued, with
// no error, when the same item was queued within WebhookItemRetention (a
// redelivery), Enqueued otherwise. An earlier task of the item that was
// archived (its retries used up) is replaced (with e.Inspector set): a
// redelivery is the item's next chance, not a duplicate.
func (e *Enqueuer) EnqueueWebhookItem(ctx context.Context, it WebhookItem) (Outcome, error) {
	if err := it.Validate(); err != nil {
		return "", fmt.Errorf("enqueue webhook item: %w", err)
	}
	if it.ReceivedAt == 0 {
		it.ReceivedAt = e.now().UnixMilli()
	}
	payload, err := json.Marshal(it)
	if err != nil {
		return "", fmt.Errorf("enqueue webhook item %s: %w", it.TaskID(), err)
	}
	task := asynq.NewTask(TypeWebhookItem, payload)
	opts := []asynq.Option{asynq.TaskID(it.TaskID()), asynq.Queue(QueuePolls),
		asynq.MaxRetry(WebhookItemMaxRetry), asynq.Retention(WebhookItemRetention)}
	_, err = e.Client.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) && e.Inspector != nil {
		// Two producers replacing the same archived item at once is
		// harmless: one enqueue wins, the other conflicts, and the reply's
		// own enqueue is what keeps it to one reply.
		ti, gerr := e.Inspector.GetTaskInfo(QueuePolls, it.TaskID())
		switch {
		case errors.Is(gerr, asynq.ErrTaskNotFound):
			// Gone since the conflict (its retention ran out): queue anew.
		case gerr != nil:
			// Not "already queued": the webhook answers an error, and Meta
			// delivers the change again.
			return "", fmt.Errorf("enqueue webhook item %s: read its queued task: %w", it.TaskID(), gerr)
		case ti.State != asynq.TaskStateArchived:
			return AlreadyQueued, nil
		default:
			if derr := e.Inspector.DeleteTask(QueuePolls, it.TaskID()); derr != nil && !errors.Is(derr, asynq.ErrTaskNotFound) {
				return "", fmt.Errorf("enqueue webhook item %s: delete its archived task: %w", it.TaskID(), derr)
			}
		}
		_, err = e.Client.EnqueueContext(ctx, task, opts...)
	}
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return AlreadyQueued, nil
	}
	if err != nil {
		return "", fmt.Errorf("enqueue webhook item %s: %w", it.TaskID(), err)
	}
	return Enqueued, nil
}
