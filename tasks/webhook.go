package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
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
	// Shown, when not 0, makes the item the Page's unhide of the comment
	// at that time (Unix milliseconds: Meta's created_time of the change,
	// or when the webhook took it): a TaskID of its own, so that the
	// comment is read again now, and not taken for a redelivery of its
	// add's item, kept WebhookItemRetention.
	Shown int64 `json:"shown,omitempty"`
	// Edited, when not 0, makes the item a person's edit of the comment:
	// a key of the edit (of the change's created_time and message, see
	// the api's editKey), a TaskID of its own, so that the comment is
	// judged again on its current text, and not taken for a redelivery of
	// its add's item, kept WebhookItemRetention. Meta's redeliveries of
	// the same edit share it. The ledger, not this, keeps it to one reply.
	Edited int64 `json:"edited,omitempty"`
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
	case it.Shown < 0 || it.Shown > 0 && it.Kind != KindComment:
		return errors.New("shown: only a comment's unhide, at a time after 1970")
	case it.Edited < 0 || it.Edited > 0 && (it.Kind != KindComment || it.Shown > 0):
		return errors.New("edited: only a comment's edit, not with shown")
	}
	return nil
}

// TaskID is the item's TaskID: "webhook:<kind>:<id>",
// "webhook:shown:<ms>:<kind>:<id>" for an unhide's (Shown), or
// "webhook:edited:<key>:<kind>:<id>" for an edit's (Edited). The time (or
// key) goes before the id: an id may hold ':' (validID), and after it a comment id
// ending ":shown:<ms>" would share the TaskID of another comment's unhide.
func (it *WebhookItem) TaskID() string {
	if it.Shown > 0 {
		return "webhook:shown:" + strconv.FormatInt(it.Shown, 10) + ":" + string(it.Kind) + ":" + it.ID
	}
	if it.Edited > 0 {
		return "webhook:edited:" + strconv.FormatInt(it.Edited, 10) + ":" + string(it.Kind) + ":" + it.ID
	}
	return "webhook:" + string(it.Kind) + ":" + it.ID
}

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

// webhookItemsChunk is how many items EnqueueWebhookItems looks up in one
// round trip, and webhookItemsParallel how many of their enqueues it has in
// flight at once.
const (
	webhookItemsChunk    = 500
	webhookItemsParallel = 8
)

// asynqTaskKey is asynq's hash of a task (its base.TaskKey): its "state"
// field holds the task's state (pending, active, scheduled, retry,
// archived, completed, ...).
func asynqTaskKey(queue, id string) string { return "asynq:{" + queue + "}:t:" + id }

// EnqueueWebhookItems queues the items of one delivery and returns one
// outcome per item, as EnqueueWebhookItem would, one by one; on error, the
// outcomes of the items before the first one that failed (later items may
// have been queued meanwhile: a redelivery finds them queued).
//
// It first reads the state of every item's task in one round trip (per
// webhookItemsChunk items): an item whose task is there and not archived is
// AlreadyQueued without a call of its own. Only the others are enqueued,
// webhookItemsParallel at a time, each through EnqueueWebhookItem (its
// TaskID conflict stays the guard, an archived task is replaced). A
// redelivery of 1,000 items queued already costs 2 round trips instead of
// 3,000 (an enqueue that conflicts, then asynq's Inspector's two to read the
// task), which on a Redis a few milliseconds away passed the webhook's
// deadline, answered 503 at every redelivery. An item named twice is
// enqueued once, the second AlreadyQueued. Without a Ledger (whose client
// reads the states) nothing is looked up first.
func (e *Enqueuer) EnqueueWebhookItems(ctx context.Context, its []WebhookItem) ([]Outcome, error) {
	outs := make([]Outcome, len(its))
	errs := make([]error, len(its))
	seen := make(map[string]bool, len(its))
	var (
		wg    sync.WaitGroup
		once  sync.Once
		cause error // the first enqueue's error, not what it stopped
	)
	failed := make(chan struct{}) // closed at the first enqueue that fails
	slots := make(chan struct{}, webhookItemsParallel)
	// stopped is the error that ends the delivery's enqueues before its[n]:
	// an enqueue failed, or the caller's deadline passed. The rest waits
	// for the redelivery; enqueues under way finish.
	stopped := func(n int) error {
		select {
		case <-failed:
			return fmt.Errorf("enqueue webhook item %s: not tried, an earlier item failed", its[n].TaskID())
		case <-ctx.Done():
			return fmt.Errorf("enqueue webhook item %s: %w", its[n].TaskID(), ctx.Err())
		default:
			return nil
		}
	}
	dispatch := func(n int) bool {
		select {
		case slots <- struct{}{}:
		case <-failed:
		case <-ctx.Done():
		}
		if errs[n] = stopped(n); errs[n] != nil {
			return false
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			outs[n], errs[n] = e.EnqueueWebhookItem(ctx, its[n])
			if errs[n] != nil {
				once.Do(func() { cause = errs[n]; close(failed) })
			}
		}()
		return true
	}
chunks:
	for start := 0; start < len(its); start += webhookItemsChunk {
		if errs[start] = stopped(start); errs[start] != nil {
			break
		}
		chunk := its[start:min(start+webhookItemsChunk, len(its))]
		queued := make([]bool, len(chunk))
		if e.Ledger != nil {
			var err error
			if queued, err = e.webhookItemsQueued(ctx, chunk); err != nil {
				errs[start] = err
				break
			}
		}
		for i := range chunk {
			n := start + i
			id := chunk[i].TaskID()
			if queued[i] || seen[id] {
				outs[n] = AlreadyQueued
				continue
			}
			seen[id] = true
			if !dispatch(n) {
				break chunks
			}
		}
		wg.Wait() // the next chunk's lookup sees this chunk's tasks
	}
	wg.Wait()
	for n, err := range errs {
		if err != nil {
			if cause == nil {
				cause = err
			}
			return outs[:n], cause
		}
	}
	return outs, nil
}

// webhookItemsQueued reports, for each item, whether its task is in asynq
// and not archived, in one round trip: what EnqueueWebhookItem would answer
// AlreadyQueued. An item without a task, or with one archived (to be
// replaced), is false.
func (e *Enqueuer) webhookItemsQueued(ctx context.Context, its []WebhookItem) ([]bool, error) {
	pipe := e.Ledger.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(its))
	for i := range its {
		if its[i].Validate() == nil { // an invalid item is EnqueueWebhookItem's error, in its turn
			cmds[i] = pipe.HGet(ctx, asynqTaskKey(QueuePolls, its[i].TaskID()), "state")
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("enqueue %d webhook items: read their queued tasks: %w", len(its), err)
	}
	queued := make([]bool, len(its))
	for i, c := range cmds {
		if c == nil {
			continue
		}
		state, err := c.Result()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			return nil, fmt.Errorf("enqueue webhook item %s: read its queued task: %w", its[i].TaskID(), err)
		default:
			queued[i] = state != "archived"
		}
	}
	return queued, nil
}
