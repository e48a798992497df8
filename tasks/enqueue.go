package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
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

// ReplyRetryHeadroom is how far asynq's MaxRetry of a reply task sits above
// worker.max_retry (ReplyTaskOptions). The worker archives a reply itself
// (asynq.SkipRetry) after max_retry failures, by the task's retry count.
// asynq v0.26 archives a task on any error once that count reaches its
// MaxRetry, a put-back that uses no retry included (a Page paused, its rate
// used up, person_gap), and the count can pass max_retry without the
// worker's say: asynq's recoverer counts the lost attempt of a killed worker
// as a failure, and a worker.max_retry raised since the task was queued (the
// API, scheduler and workers restarted at different times) lets the worker
// retry past the enqueuer's. With asynq's limit one above max_retry, as it
// was, a put-back on the next run then archived a reply that still had
// retries ("put back …: page paused"), lost unless a later full read found
// it. Failures the worker sees never use the headroom (it archives at its
// max_retry, see worker.Params.MaxRetry); only a task whose every run kills
// its worker (its lease lost each time) is retried by asynq up to
// max_retry + ReplyRetryHeadroom times, with backoff, before asynq archives
// it. The monitor shows a reply's max retry with it: max_retry + 20.
const ReplyRetryHeadroom = 20

// ReplyTaskOptions are the asynq options of a reply task, asynq's MaxRetry
// ReplyRetryHeadroom above maxRetry: the worker archives after maxRetry
// failures itself, so that a put-back (not a failure) never archives a reply.
func ReplyTaskOptions(r *Reply, maxRetry int, retention time.Duration) []asynq.Option {
	return []asynq.Option{
		asynq.TaskID(r.Target.String()),
		asynq.Queue(QueueReplies),
		asynq.MaxRetry(maxRetry + ReplyRetryHeadroom),
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
// 90 days, so without this nothing could queue that target again.) A target
// whose tasks ran out of retries more than MaxReplacements times is recorded
// as failed for good instead (AlreadyFailed), whether its last task is still
// archived or was deleted.
//
// Every mark holds: a producer that has r's Page's configuration uses
// EnqueueOn, which drops a hide mark the Page's settings no longer want.
func (e *Enqueuer) Enqueue(ctx context.Context, r Reply) (Outcome, *asynq.TaskInfo, error) {
	return e.EnqueueOn(ctx, nil, r)
}

// EnqueueOn is Enqueue of a reply of page (r.PageID is page.ID; nil: every
// mark holds, as Enqueue): on a Page without skip_hidden, the webhook's hide
// mark of r's comment (StaleHideMark), written while the Page had
// skip_hidden, is dropped (Ledger.UnmarkHidden, which leaves a doubt when
// the mark had taken an attempt's claim, settled with Graph before any
// send) and r is queued, where the mark answered AlreadyFailed: the Page
// answers its hidden comments now. The poll, the webhook's items, the API
// and pagereply enqueue use it alike.
func (e *Enqueuer) EnqueueOn(ctx context.Context, page *config.Page, r Reply) (Outcome, *asynq.TaskInfo, error) {
	st, err := e.Ledger.getTargets(ctx, r.PageID, []Target{r.Target})
	if err != nil {
		return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	return e.enqueueChecked(ctx, page, r, st[0], time.Time{})
}

// StaleHideMark reports whether e is the webhook's hide mark (HiddenReason)
// on page without skip_hidden: written while the Page had it, it is not the
// Page's wish any more (its hidden comments are answered), and must not keep
// the comment's reply from being queued or sent. A nil page keeps every
// mark, and so does a Page whose hides hold (HidesHold).
func StaleHideMark(page *config.Page, e Entry) bool {
	return page != nil && !HidesHold(page) && e.Status == StatusFailed && e.Reason == HiddenReason
}

// HidesHold reports whether the Page's hides of comments stop their
// replies: with skip_hidden, or when the Page no longer replies to comments
// (reply_to without them, where config refuses skip_hidden: its being off
// there is no wish to answer hidden comments, and a reply queued before the
// change must not go to a comment the Page hid).
func HidesHold(page *config.Page) bool {
	return page.SkipHidden || !page.Replies(config.ReplyComments)
}

// dropStaleHide drops the stale hide mark (StaleHideMark) of r's comment and
// reads its target's state again: none, or a doubt the mark had taken the
// place of; a mark a hide wrote again since stays, and holds.
func (e *Enqueuer) dropStaleHide(ctx context.Context, r Reply) (targetState, error) {
	if _, err := e.Ledger.UnmarkHidden(ctx, r.PageID, r.Target.ID, time.Time{}); err != nil {
		return targetState{}, fmt.Errorf("enqueue %s: drop its hide mark (skip_hidden off): %w", r.Target, err)
	}
	st, err := e.Ledger.getTargets(ctx, r.PageID, []Target{r.Target})
	if err != nil {
		return targetState{}, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	return st[0], nil
}

// HeldHideMark reports whether e is the webhook's hide mark (HiddenReason)
// of a comment of page, a Page with skip_hidden: the mark holds, unless a
// poll's listing read shows the comment again (Ledger.UnhideListed).
func HeldHideMark(page *config.Page, e Entry) bool {
	return page != nil && page.SkipHidden && e.Status == StatusFailed && e.Reason == HiddenReason
}

// unhideListed drops the hide mark of r's comment, which a poll's listing
// read that began at listedAt showed (Ledger.UnhideListed), and reads its
// target's state again; st as it was when the mark holds.
func (e *Enqueuer) unhideListed(ctx context.Context, r Reply, st targetState, listedAt time.Time) (targetState, error) {
	dropped, err := e.Ledger.UnhideListed(ctx, r.PageID, r.Target.ID, listedAt, false)
	if err != nil {
		return targetState{}, fmt.Errorf("enqueue %s: drop its hide mark (listed shown): %w", r.Target, err)
	}
	if !dropped {
		return st, nil
	}
	sts, err := e.Ledger.getTargets(ctx, r.PageID, []Target{r.Target})
	if err != nil {
		return targetState{}, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	return sts[0], nil
}

// enqueueChecked queues r, whose target's state st was read. listedAt,
// when not zero, is when the poll's listing read that listed r's comment
// shown began (EnqueueManyListed).
func (e *Enqueuer) enqueueChecked(ctx context.Context, page *config.Page, r Reply, st targetState, listedAt time.Time) (Outcome, *asynq.TaskInfo, error) {
	if r.Target.Kind == KindComment && StaleHideMark(page, st.Entry) {
		var err error
		if st, err = e.dropStaleHide(ctx, r); err != nil {
			return "", nil, err
		}
	} else if r.Target.Kind == KindComment && !listedAt.IsZero() && HeldHideMark(page, st.Entry) {
		var err error
		if st, err = e.unhideListed(ctx, r, st, listedAt); err != nil {
			return "", nil, err
		}
	}
	entry := st.Entry
	switch entry.Status {
	case StatusSent:
		return AlreadySent, nil, nil
	case StatusFailed:
		return AlreadyFailed, nil, nil
	}
	if err := r.Validate(); err != nil {
		return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	// Given up past MaxReplacements, but not a conversation reply in doubt:
	// its entry holds its person (PersonClaim) until an attempt asks Graph
	// whether the reply reached them, and failed it would let a reply to
	// their earlier message through. (Polls find a conversation again only
	// at full reads, inside its 24 hours: a few replacements more. A
	// comment's second reply Graph refuses itself: 10900.)
	if st.ranOut > MaxReplacements && !(inDoubt(entry) && r.Target.Kind == KindMessage) {
		return e.giveUp(ctx, r, st)
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

// MaxReplacements is how many times a target whose reply task ran out of
// retries (archived by the worker after worker.max_retry transient failures)
// is queued again, by a replacement of the archived task (replaceArchived) or
// as a new task once the archived one is gone, before the target is recorded
// as failed for good. Each new task brings a full set of retries, and a poll
// finds a target again often (every poll of a post read to its end, every
// full read): a reply Graph keeps refusing with a transient answer (code 2
// to a person who blocked the Page) would otherwise be sent about
// (max_retry+1) times for each new task, for the whole reply window, and
// use up the Page's allowance. Three more tasks cover a worker that did not
// have the Page yet (a rolling update), a max_age widened after a reply was
// held past the old one, and a Graph outage or two.
//
// The worker counts the tasks that ran out (Ledger.CountRanOut), not the
// enqueue that replaces one: an archived task deleted meanwhile (the
// monitor's Delete or "Delete all", or asynq trimming its archive past
// 10,000 tasks) left nothing to replace, and a find queued a new task,
// uncounted, with a full set of retries, without end.
const MaxReplacements = 3

// ranOutKey is the key of the count of t's tasks that ran out of retries.
func (l *Ledger) ranOutKey(page string, t Target) string {
	return l.pageKey(page, "ranout:"+t.String())
}

// countRanOutScript counts one more task of a target that ran out of
// retries, and keeps its last error: the value is "<count>|<last error>".
//
// KEYS[1] the count's key. ARGV[1] the last error, ARGV[2] TTL (ms).
var countRanOutScript = redis.NewScript(`
local n = tonumber(string.match(redis.call('GET', KEYS[1]) or '', '^%d+')) or 0
n = n + 1
redis.call('SET', KEYS[1], string.format('%d', n) .. '|' .. ARGV[1], 'PX', ARGV[2])
return n
`)

// CountRanOut records that a reply task of t was archived because its
// retries ran out, with its last error, and returns how many of t's tasks
// did. The count is kept as long as a ledger entry (from the last one) and
// read with t's entry by every enqueue of t, in the same round trip: past
// MaxReplacements, an enqueue records t as failed for good instead of
// queuing it (not a conversation reply in doubt, see Enqueue).
func (l *Ledger) CountRanOut(ctx context.Context, page string, t Target, lastErr string) (int, error) {
	n, err := countRanOutScript.Run(ctx, l.rdb, []string{l.ranOutKey(page, t)}, clipReason(lastErr), l.ttlArg).Int()
	if err != nil {
		return 0, fmt.Errorf("count %s's task out of retries: %w", t, err)
	}
	return n, nil
}

// targetState is what an enqueue reads of a target: its ledger entry, and
// how many of its tasks ran out of retries (CountRanOut) with the last one's
// error.
type targetState struct {
	Entry
	ranOut  int
	lastErr string
}

// getTargets reads the states of targets of one Page in one round trip (one
// MGET: the entries and the counts share the Page's hash slot).
func (l *Ledger) getTargets(ctx context.Context, page string, ts []Target) ([]targetState, error) {
	if len(ts) == 0 {
		return nil, nil
	}
	keys := make([]string, 2*len(ts))
	for i, t := range ts {
		keys[2*i], keys[2*i+1] = l.entryKey(page, t), l.ranOutKey(page, t)
	}
	vals, err := l.rdb.MGet(ctx, keys...).Result()
	if err != nil && len(ts) == 1 {
		return nil, fmt.Errorf("ledger get %s: %w", ts[0], err)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger get %d targets of page %s: %w", len(ts), page, err)
	}
	if len(vals) != len(keys) {
		return nil, fmt.Errorf("ledger get %d targets of page %s: %d values", len(ts), page, len(vals))
	}
	out := make([]targetState, len(ts))
	for i := range out {
		if s, ok := vals[2*i].(string); ok {
			out[i].Entry = parseEntry(s)
		}
		if s, ok := vals[2*i+1].(string); ok {
			n, last, _ := strings.Cut(s, "|")
			out[i].ranOut, _ = strconv.Atoi(n)
			out[i].lastErr = last
		}
	}
	return out, nil
}

// inDoubt reports whether an attempt of the entry's target may have reached
// the person (its outcome unknown, or a claim that may be sending now).
func inDoubt(e Entry) bool { return e.Status == StatusUnknown || e.Status == StatusClaimed }

// ClassGivenUp is the class giveUp keeps with a target it records failed
// (tasks.Entry.Class): the API's error_class of such a reply, which tells a
// client that asking again will not queue it. GivenUpReason starts its
// reason: an entry an older version gave up has no class, only the reason.
const (
	ClassGivenUp  = "given_up"
	GivenUpReason = "given up after its task ran out of retries"
)

// giveUp records r's target as failed for good, its tasks having run out of
// retries more than MaxReplacements times (st), with the last one's error:
// later polls skip it at the ledger, and the caller is told. Whether or not
// the last archived task still exists: one deleted would otherwise let a
// find queue it anew. A task of it that is not archived (an operator ran the
// archived one again) is left to finish: the target counts as queued. Not
// for a conversation reply in doubt (see replaceArchived), which the caller
// keeps out.
func (e *Enqueuer) giveUp(ctx context.Context, r Reply, st targetState) (Outcome, *asynq.TaskInfo, error) {
	if e.Inspector != nil {
		ti, err := e.Inspector.GetTaskInfo(QueueReplies, r.Target.String())
		switch {
		case err == nil && ti.State != asynq.TaskStateArchived:
			return AlreadyQueued, nil, nil
		case err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound):
			return "", nil, fmt.Errorf("enqueue %s: read its queued task: %w", r.Target, err)
		}
	}
	reason := fmt.Sprintf("%s %d times (last error: %s)", GivenUpReason, st.ranOut, clipReason(st.lastErr))
	if err := e.Ledger.MarkFailedClass(ctx, r.PageID, r.Target, ClassGivenUp, reason); err != nil {
		return "", nil, fmt.Errorf("enqueue %s: %w", r.Target, err)
	}
	return AlreadyFailed, nil, nil
}

// unlockScript deletes a lock that is still the caller's.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// replaceArchived handles an enqueue of r whose TaskID is taken: when the
// task holding it is archived (or completed without answering its target,
// see replaceable), it is deleted and task queued in its place; otherwise
// r's target is queued. One producer at a time does this for a
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
	// A task that completed while the ledger has nothing of its target, or
	// only a doubt, answered nothing: the comment of a Page with skip_hidden
	// that was hidden when its reply came due (MarkHidden), and shown again
	// since (UnmarkHidden, which leaves a doubt when the mark had taken the
	// claim of an attempt that may have sent). Its TaskID, kept for the
	// task's retention, would keep the reply the unhide owes it from being
	// queued for that long. (A task in doubt that replaces it asks Graph
	// before it sends.)
	replaceable := func(st asynq.TaskState) bool {
		return st == asynq.TaskStateArchived ||
			(st == asynq.TaskStateCompleted && (entry.Status == StatusNone || entry.Status == StatusUnknown))
	}
	// Most conflicts are a task still queued (a poll finding replies not
	// sent yet): one read tells, without the lock's two round trips.
	if ti, err := e.Inspector.GetTaskInfo(QueueReplies, id); err == nil && !replaceable(ti.State) {
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
	case !replaceable(ti.State):
		return AlreadyQueued, nil, nil
	default:
		// (A target whose tasks ran out of retries too often was given up
		// before this, in enqueueChecked.)
		if inDoubt(entry) {
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
			if ti, gerr := e.Inspector.GetTaskInfo(QueueReplies, id); gerr == nil && !replaceable(ti.State) {
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

// EnqueueMany enqueues replies of one Page, reading their ledger entries (and
// counts of tasks out of retries) in one round trip. It returns one outcome per reply; on error, the outcomes so far.
// A reply that fails Reply.Validate is that reply's outcome (Invalid), not
// the batch's error: one odd item (an id of a shape Graph had not used
// before) failed the batch, and the poll that found it, at every poll, and
// every reply after it in the batch with them.
//
// Every mark holds, as with Enqueue: see EnqueueManyOn.
func (e *Enqueuer) EnqueueMany(ctx context.Context, page string, rs []Reply) ([]Outcome, error) {
	return e.enqueueMany(ctx, page, nil, rs, nil)
}

// EnqueueManyOn is EnqueueMany of replies of page, by its settings as
// EnqueueOn: a stale hide mark (StaleHideMark) is dropped and its reply
// queued (one ledger write and read more for each such reply only).
func (e *Enqueuer) EnqueueManyOn(ctx context.Context, page *config.Page, rs []Reply) ([]Outcome, error) {
	return e.enqueueMany(ctx, page.ID, page, rs, nil)
}

// EnqueueManyListed is EnqueueManyOn of replies of which listedAt[i], when
// not zero, is when the poll's listing read that listed rs[i]'s comment
// shown (Graph's is_hidden false, on a Page with skip_hidden) began: such a
// comment that holds the webhook's hide mark is taken as shown again by an
// unhide the webhook missed, and its mark dropped as the unhide's
// (Ledger.UnhideListed: not for a hide of the last ListedUnhideMargin) and
// its reply queued. That costs a ledger write (and a read, when dropped)
// for each such comment only. listedAt is nil or as long as rs.
func (e *Enqueuer) EnqueueManyListed(ctx context.Context, page *config.Page, rs []Reply, listedAt []time.Time) ([]Outcome, error) {
	if listedAt != nil && len(listedAt) != len(rs) {
		return nil, fmt.Errorf("enqueue: %d listing times for %d replies", len(listedAt), len(rs))
	}
	return e.enqueueMany(ctx, page.ID, page, rs, listedAt)
}

func (e *Enqueuer) enqueueMany(ctx context.Context, page string, cfg *config.Page, rs []Reply, listedAt []time.Time) ([]Outcome, error) {
	ts := make([]Target, len(rs))
	for i := range rs {
		if rs[i].PageID != page {
			return nil, fmt.Errorf("enqueue: reply %d is for page %s, not %s", i, rs[i].PageID, page)
		}
		ts[i] = rs[i].Target
	}
	entries, err := e.Ledger.getTargets(ctx, page, ts)
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	out := make([]Outcome, 0, len(rs))
	for i := range rs {
		if rs[i].Validate() != nil {
			out = append(out, Invalid)
			continue
		}
		var at time.Time
		if listedAt != nil {
			at = listedAt[i]
		}
		o, _, err := e.enqueueChecked(ctx, cfg, rs[i], entries[i], at)
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
