package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// Outcome is what an enqueue did.
type Outcome string

// Enqueue outcomes.
const (
	// Enqueued: a new reply task is queued.
	Enqueued Outcome = "enqueued"
	// AlreadyQueued: a reply task for the target exists (pending, scheduled, retrying or active).
	AlreadyQueued Outcome = "queued"
	// AlreadySent: the ledger has the target answered.
	AlreadySent Outcome = "sent"
	// AlreadyFailed: the ledger has the target failed for good.
	AlreadyFailed Outcome = "failed"
)

// DefaultRetention is how long a finished reply task stays in Redis, so that its
// TaskID keeps refusing a second enqueue and the monitor shows it. The ledger,
// not the retention, is the lasting guard, so it is kept short.
const DefaultRetention = time.Hour

// Enqueuer is the one way reply tasks get onto the queue. Every producer (poll,
// webhook, API) uses it, so every one gets the same deduplication.
type Enqueuer struct {
	Client *asynq.Client
	Ledger *Ledger
	// MaxRetry is the number of failed attempts a reply may use (worker.max_retry).
	MaxRetry int
	// Retention of a finished task; if zero, DefaultRetention.
	Retention time.Duration
	// Inspector, when set, lets an enqueue replace an archived task of its
	// target (see Enqueue). Without it an archived task counts as queued.
	Inspector *asynq.Inspector
	// Now is the clock; if nil, time.Now.
	Now func() time.Time
}

// ReplyTaskOptions are the asynq options of a reply task. asynq's MaxRetry is one
// above maxRetry: the worker archives after maxRetry failures itself, so that a
// throttle pause on the last attempt (not a failure) never archives a reply.
func ReplyTaskOptions(r *Reply, maxRetry int, retention time.Duration) []asynq.Option {
	return []asynq.Option{
		asynq.TaskID(r.Target.String()),
		asynq.Queue(QueueReplies),
		asynq.MaxRetry(maxRetry + 1),
		asynq.Retention(retention),
	}
}

// Enqueue queues r unless its target is answered, failed for good, or queued.
// The returned info is nil unless the outcome is Enqueued.
//
// A target whose task was archived without the ledger saying it failed for
// good (its retries used up on transient errors, its Page unknown to the
// worker) is neither queued nor sent: its reply is still owed. With an
// Inspector, the archived task is replaced by the new one, so a later poll,
// delivery or API call that finds the target again gets it answered instead
// of being told it is queued. (An archived task keeps its TaskID, for asynq's
// 90 days, so without this nothing could queue that target again.)
func (e *Enqueuer) Enqueue(ctx context.Context, r Reply) (Outcome, *asynq.TaskInfo, error) {
	entry, err := e.Ledger.Get(ctx, r.PageID, r.Target)
	if err != nil {
		return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	return e.enqueueChecked(ctx, r, entry)
}

func (e *Enqueuer) enqueueChecked(ctx context.Context, r Reply, entry Entry) (Outcome, *asynq.TaskInfo, error) {
	switch entry.Status {
	case StatusSent:
		return AlreadySent, nil, nil
	case StatusFailed:
		return AlreadyFailed, nil, nil
	}
	if err := r.Validate(); err != nil {
		return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	if r.EnqueuedAt == 0 {
		r.EnqueuedAt = e.now().UnixMilli()
	}
	payload, err := json.Marshal(r)
	if err != nil {
		return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	ret := e.Retention
	if ret <= 0 {
		ret = DefaultRetention
	}
	task, opts := asynq.NewTask(TypeReply, payload), ReplyTaskOptions(&r, e.MaxRetry, ret)
	info, err := e.Client.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		if !e.replaceArchived(r.Target) {
			return AlreadyQueued, nil, nil
		}
		info, err = e.Client.EnqueueContext(ctx, task, opts...)
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			// Another producer queued it in between.
			return AlreadyQueued, nil, nil
		}
	}
	if err != nil {
		return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	return Enqueued, info, nil
}

// EnqueueMany enqueues replies of one Page, reading their ledger entries in one
// round trip. It returns one outcome per reply; on error, the outcomes so far.
func (e *Enqueuer) EnqueueMany(ctx context.Context, page string, rs []Reply) ([]Outcome, error) {
	ts := make([]Target, len(rs))
	for i := range rs {
		if rs[i].PageID != page {
			return nil, fmt.Errorf("enqueue: reply %d is for page %s, not %s", i, rs[i].PageID, page)
		}
		ts[i] = rs[i].Target
	}
	entries, err := e.Ledger.GetMany(ctx, page, ts)
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	out := make([]Outcome, 0, len(rs))
	for i := range rs {
		o, _, err := e.enqueueChecked(ctx, rs[i], entries[i])
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

// replaceArchived deletes t's task if it is archived, and reports whether it
// did (or found it gone). A task in any other state, or one an operator ran
// again meanwhile and a worker took (asynq does not delete an active task),
// stays.
func (e *Enqueuer) replaceArchived(t Target) bool {
	if e.Inspector == nil {
		return false
	}
	id := t.String()
	info, err := e.Inspector.GetTaskInfo(QueueReplies, id)
	if errors.Is(err, asynq.ErrTaskNotFound) {
		return true
	}
	if err != nil || info.State != asynq.TaskStateArchived {
		return false
	}
	err = e.Inspector.DeleteTask(QueueReplies, id)
	return err == nil || errors.Is(err, asynq.ErrTaskNotFound)
}

func (e *Enqueuer) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}
