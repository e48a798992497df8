package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
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
	// Invalid: the reply fails Reply.Validate, and nothing is queued
	// (EnqueueMany; Enqueue returns the error).
	Invalid Outcome = "invalid"
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
	if r.Target.Kind == KindMessage {
		if err := e.Ledger.NoteText(ctx, r.PageID, r.Target, r.Text); err != nil {
			return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
		}
	}
	task, opts := asynq.NewTask(TypeReply, payload), ReplyTaskOptions(&r, e.MaxRetry, ret)
	info, err := e.Client.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return e.replaceArchived(ctx, r, entry, task, opts)
	}
	if err != nil {
		return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	return Enqueued, info, nil
}

// replaceLockTTL bounds how long a producer that died while replacing an
// archived task keeps others from replacing it.
const replaceLockTTL = 10 * time.Second

// MaxReplacements is how many times an archived task of one target is
// replaced by a new one (replaceArchived) before the target is recorded as
// failed for good. Each new task brings a full set of retries, and a poll
// finds a target again often (every poll of a post read to its end, every
// full read): a reply Graph keeps refusing with a transient answer (code 2
// to a person who blocked the Page) would otherwise be sent about
// (max_retry+1) times for each replacement, for the whole reply window, and
// use up the Page's allowance. Three replacements cover a worker that did not
// have the Page yet (a rolling update), a max_age widened after a reply was
// held past the old one, and a Graph outage or two.
const MaxReplacements = 3

// countReplacement counts one more replacement of t's archived task and
// returns the count, kept as long as t's ledger entry.
func (l *Ledger) countReplacement(ctx context.Context, page string, t Target) (int64, error) {
	key := l.pageKey(page, "replaced:"+t.String())
	var n *redis.IntCmd
	if _, err := l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		n = p.Incr(ctx, key)
		p.PExpire(ctx, key, l.ttl)
		return nil
	}); err != nil {
		return 0, fmt.Errorf("count replacements of %s: %w", t, err)
	}
	return n.Val(), nil
}

// unlockScript deletes a lock that is still the caller's.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// replaceArchived handles an enqueue of r whose TaskID is taken: when the
// task holding it is archived, it is deleted and task queued in its place;
// otherwise r's target is queued. One producer at a time does this for a
// target, under a lock that it takes before it reads the task's state again, so
// two producers finding the same archived task cannot each delete the other's
// new task (asynq deletes a pending task as readily as an archived one).
//
// When the ledger says an attempt of the archived task may have reached the
// person (entry unknown or claimed), the new task keeps the archived one's
// text: the worker's check of a conversation reply looks for the text that
// attempt sent, and with another text it would find none and send a second
// message.
func (e *Enqueuer) replaceArchived(ctx context.Context, r Reply, entry Entry, task *asynq.Task, opts []asynq.Option) (Outcome, *asynq.TaskInfo, error) {
	if e.Inspector == nil {
		return AlreadyQueued, nil, nil
	}
	id := r.Target.String()
	// Most conflicts are a task still queued (a poll finding replies not
	// sent yet): one read tells, without the lock's two round trips.
	if ti, err := e.Inspector.GetTaskInfo(QueueReplies, id); err == nil && ti.State != asynq.TaskStateArchived {
		return AlreadyQueued, nil, nil
	}
	lock, token := e.Ledger.pageKey(r.PageID, "replace:"+id), NewToken()
	ok, err := e.Ledger.rdb.SetNX(ctx, lock, token, replaceLockTTL).Result()
	if err != nil {
		return "", nil, fmt.Errorf("enqueue %s: lock its archived task: %w", r.Target, err)
	}
	if !ok {
		// Another producer is replacing it now.
		return AlreadyQueued, nil, nil
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = unlockScript.Run(uctx, e.Ledger.rdb, []string{lock}, token).Err()
	}()
	ti, err := e.Inspector.GetTaskInfo(QueueReplies, id)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound):
		// Gone since (a finished task's retention ran out): queue anew.
	case err != nil:
		return "", nil, fmt.Errorf("enqueue %s: read its queued task: %w", r.Target, err)
	case ti.State != asynq.TaskStateArchived:
		return AlreadyQueued, nil, nil
	default:
		n, err := e.Ledger.countReplacement(ctx, r.PageID, r.Target)
		if err != nil {
			return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
		}
		doubt := entry.Status == StatusUnknown || entry.Status == StatusClaimed
		if n > MaxReplacements && !(doubt && r.Target.Kind == KindMessage) {
			// Failed for good, with the archived task's last error: later
			// polls skip it at the ledger, and the caller is told. Not a
			// conversation reply in doubt: its entry holds its person
			// (PersonClaim) until an attempt asks Graph whether the reply
			// reached them, and failed it would let a reply to their
			// earlier message through. (Polls find a conversation again
			// only at full reads, inside its 24 hours: a few replacements
			// more. A comment's second reply Graph refuses itself: 10900.)
			reason := fmt.Sprintf("given up after its task ran out of retries %d times (last error: %s)", n, clipReason(ti.LastErr))
			if err := e.Ledger.MarkFailed(ctx, r.PageID, r.Target, reason); err != nil {
				return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
			}
			return AlreadyFailed, nil, nil
		}
		if doubt {
			if old, err := DecodeReply(ti.Payload); err == nil && old.Text != "" && old.Text != r.Text {
				r.Text = old.Text
				payload, err := json.Marshal(r)
				if err != nil {
					return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
				}
				task = asynq.NewTask(TypeReply, payload)
			}
		}
		// An operator may run it again at this moment; a worker that took
		// it meanwhile keeps it (asynq does not delete an active task).
		if err := e.Inspector.DeleteTask(QueueReplies, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			if ti, gerr := e.Inspector.GetTaskInfo(QueueReplies, id); gerr == nil && ti.State != asynq.TaskStateArchived {
				return AlreadyQueued, nil, nil
			}
			return "", nil, fmt.Errorf("enqueue %s: delete its archived task: %w", r.Target, err)
		}
	}
	info, err := e.Client.EnqueueContext(ctx, task, opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return AlreadyQueued, nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	return Enqueued, info, nil
}

// EnqueueMany enqueues replies of one Page, reading their ledger entries in one
// round trip. It returns one outcome per reply; on error, the outcomes so far.
// A reply that fails Reply.Validate is that reply's outcome (Invalid), not
// the batch's error: one odd item (an id of a shape Graph had not used
// before) failed the batch, and the poll that found it, at every poll, and
// every reply after it in the batch with them.
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
		if rs[i].Validate() != nil {
			out = append(out, Invalid)
			continue
		}
		o, _, err := e.enqueueChecked(ctx, rs[i], entries[i])
		if err != nil {
			return out, err
		}
		out = append(out, o)
	}
	return out, nil
}

func (e *Enqueuer) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// clipReason shortens an archived task's last error for a ledger reason.
func clipReason(s string) string {
	const most = 300
	if len(s) <= most {
		return s
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
