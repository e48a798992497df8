package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/tasks"
)

// The reasons of put-backs (delayError) that WakePutBacks tells apart by
// their task's last error.
const (
	putBackRate   = "page rate used up"
	putBackPaused = "page paused: "
	// putBackSettling: an earlier send got no answer and may still land.
	putBackSettling = "an earlier send got no answer: Graph is asked whether it landed once it has had time to act"
	// putBackShare: the Page's replies hold their share of this worker's
	// slots, mostly in slow sends (see Worker.enter).
	putBackShare = "page holds its share of the worker's slots"
	// putBackPersonGap: the person got a reply less than the Page's
	// person_gap ago (or one is booked).
	putBackPersonGap = "the person's last reply was less than person_gap ago"
	// putBackStopping: the worker began to stop before the reply's send.
	putBackStopping = "the worker is stopping: put back before its send"
)

// Wake says which put-back replies of a Page a config change has made stale.
type Wake struct {
	// Rate: the Page's pacing changed (its rate, burst or person_gap), so
	// the replies put back on the old rate's schedule would come back at
	// the old pace, and those put back for a person's gap after the old
	// gap (a person_gap lowered or turned off).
	Rate bool
	// Broken: the Page's page_broken pause was lifted (a new token), so the
	// replies and webhook items put back until the pause's end need not
	// wait for it.
	Broken bool
	// Lifted: an operator lifted the Page's pause, of whatever kind
	// (pagereply resume), so nothing put back until a pause's end need
	// wait for it.
	Lifted bool
	// Interval is the Page's send interval now (0: no limit). Its rate
	// put-backs are woken too when they are spaced slower than that: a
	// worker still on an older, lower rate put them back during a rolling
	// restart, after the first new worker had woken those of its time.
	Interval time.Duration
}

// spacedSlower reports whether n put-backs of which the last returns at last
// are spaced slower than interval would space them from now, beyond
// asynq's whole-second clock and a quarter. A spacing past what a
// time.Duration holds (100,000 put-backs on a Page of one reply a day) is
// that maximum: nothing is spaced slower than it.
func spacedSlower(n int, last, now time.Time, interval time.Duration) bool {
	if interval <= 0 || n <= 0 {
		return false
	}
	const maxSpacing = time.Duration(math.MaxInt64)
	if interval > maxSpacing/time.Duration(n) {
		return false
	}
	spacing := time.Duration(n) * interval
	if spacing > maxSpacing-2*time.Second-spacing/4 {
		return false
	}
	return last.Sub(now) > spacing+spacing/4+2*time.Second // spacing*5/4, exactly
}

// wakePageSize is the retry tasks read per Inspector call.
const wakePageSize = 500

// Woken counts the tasks of a Page that WakePutBacks ran.
type Woken struct {
	Replies, Items int
}

// WakePutBacks runs now the reply tasks that wait in asynq's retry state as
// put-backs that wake marks stale, by Page: they are taken again at once and
// meet the Page's new rate or lifted pause (those the rate cannot take yet
// go back on its new schedule). The webhook items put back for a pause that
// was lifted (a Page's Broken or Lifted) run now too. A reply retried after
// a failure keeps its backoff. It returns how many it ran, by Page. asynq
// keeps no index by payload, so the retry state is read whole: a start-up
// step after a config change, or an operator's resume, not a hot path.
//
// Pages whose rate put-backs run slower than their Interval have their
// put-back schedule restarted (ledger.RestartPutBacks) before those run, so
// the ones the rate cannot take yet go back spaced at the rate.
func WakePutBacks(ctx context.Context, insp *asynq.Inspector, ledger *tasks.Ledger, wake map[string]Wake) (map[string]Woken, error) {
	var ids []string
	var pages []string
	type slow struct {
		ids  []string
		last time.Time
	}
	rated := map[string]*slow{}
	now := time.Now()
	err := eachReply(ctx, insp.ListRetryTasks, func(ti *asynq.TaskInfo, r tasks.Reply) {
		w := wake[r.PageID]
		// Replies held back by their Page's share of slots return on a
		// schedule of the Page's rate too.
		rate := strings.HasSuffix(ti.LastErr, ": "+putBackRate) || strings.HasSuffix(ti.LastErr, ": "+putBackShare)
		gap := strings.HasSuffix(ti.LastErr, ": "+putBackPersonGap)
		switch {
		case w.Rate && (rate || gap), w.pauseLifted(ti.LastErr):
			ids, pages = append(ids, ti.ID), append(pages, r.PageID)
		case rate && w.Interval > 0:
			sl := rated[r.PageID]
			if sl == nil {
				sl = &slow{}
				rated[r.PageID] = sl
			}
			sl.ids = append(sl.ids, ti.ID)
			if ti.NextProcessAt.After(sl.last) {
				sl.last = ti.NextProcessAt
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("wake put-back replies: %w", err)
	}
	for page, sl := range rated {
		if !spacedSlower(len(sl.ids), sl.last, now, wake[page].Interval) {
			continue
		}
		if ledger != nil {
			if err := ledger.RestartPutBacks(ctx, page); err != nil {
				return nil, fmt.Errorf("wake put-back replies: %w", err)
			}
		}
		for _, id := range sl.ids {
			ids, pages = append(ids, id), append(pages, page)
		}
	}
	ran, err := runTasks(insp, tasks.QueueReplies, ids, pages)
	out := make(map[string]Woken, len(ran))
	for page, n := range ran {
		out[page] = Woken{Replies: n}
	}
	if err != nil {
		return out, fmt.Errorf("wake put-back replies: %w", err)
	}
	items, err := wakeItems(ctx, insp, wake)
	for page, n := range items {
		w := out[page]
		w.Items = n
		out[page] = w
	}
	if err != nil {
		return out, fmt.Errorf("wake put-back webhook items: %w", err)
	}
	return out, nil
}

// pauseLifted reports whether a task whose last error is lastErr was put
// back for a pause that w says is lifted.
func (w Wake) pauseLifted(lastErr string) bool {
	return w.Lifted && strings.Contains(lastErr, ": "+putBackPaused) ||
		w.Broken && strings.Contains(lastErr, ": "+putBackPaused+tasks.PausePageBroken)
}

// wakeItems runs now the webhook item tasks put back for a pause that wake
// says is lifted, and counts them by Page. The polls queue is read only when
// some pause is.
func wakeItems(ctx context.Context, insp *asynq.Inspector, wake map[string]Wake) (map[string]int, error) {
	lifted := false
	for _, w := range wake {
		lifted = lifted || w.Lifted || w.Broken
	}
	if !lifted {
		return nil, nil
	}
	var ids, pages []string
	err := eachTask(ctx, insp.ListRetryTasks, tasks.QueuePolls, func(ti *asynq.TaskInfo) {
		if ti.Type != tasks.TypeWebhookItem {
			return
		}
		it, err := tasks.DecodeWebhookItem(ti.Payload)
		if err == nil && wake[it.PageID].pauseLifted(ti.LastErr) {
			ids, pages = append(ids, ti.ID), append(pages, it.PageID)
		}
	})
	if err != nil {
		return nil, err
	}
	return runTasks(insp, tasks.QueuePolls, ids, pages)
}

// notConfigured ends the error of a reply whose Page this worker's config
// does not have.
const notConfigured = "is not configured on this worker"

// RunArchivedOfPages runs again the reply tasks archived because the Page
// was not in the config of the workers that tried them (a Page removed, or
// added by a rolling update slower than their retries) and whose Page is in
// pages now: nothing else would send them, since the poll reads only the
// posts that changed. Graph refuses those past the reply window, and they
// are archived again with its reason. It returns how many it ran, by Page.
//
// Each is queued afresh in place of its archived task (enq, whose Inspector
// must be set, replaces an archived task as a poll finding its target
// would), with worker.max_retry retries: the archived task's retries went
// on workers that could not send it, and run again as it was, its first
// transient Graph error archived it for good until the next full read. A
// target the ledger has as sent or failed, a payload enq refuses, or a task
// whose id is not its target, is run as it was instead, for the worker to
// settle.
func RunArchivedOfPages(ctx context.Context, enq *tasks.Enqueuer, pages map[string]bool) (map[string]int, error) {
	var ts []archivedTask
	err := eachReply(ctx, enq.Inspector.ListArchivedTasks, func(ti *asynq.TaskInfo, r tasks.Reply) {
		if strings.Contains(ti.LastErr, notConfigured) && pages[r.PageID] {
			ts = append(ts, archivedTask{id: ti.ID, page: r.PageID, own: ti.ID == r.Target.String(),
				enqueue: func() (tasks.Outcome, error) { o, _, err := enq.Enqueue(ctx, r); return o, err }})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("run archived replies: %w", err)
	}
	return runArchived(enq.Inspector, tasks.QueueReplies, ts, "run archived replies")
}

// RunArchivedItemsOfPages is RunArchivedOfPages for webhook items: those
// archived because the Page was not in the config of the workers that took
// them (an api process on a new config queued them before the workers had
// it) and whose Page is in pages now. Meta does not deliver again a change
// answered 200, and the poll never reads some of what the webhook brings (a
// Reel's comment without reels), so nothing else would read them. Each is
// queued afresh in place of its archived task, with its retries
// (Enqueuer.EnqueueWebhookItem replaces an archived item); one whose task id
// is not the item's is run as it was. It returns how many it ran, by Page.
func RunArchivedItemsOfPages(ctx context.Context, enq *tasks.Enqueuer, pages map[string]bool) (map[string]int, error) {
	var ts []archivedTask
	err := eachTask(ctx, enq.Inspector.ListArchivedTasks, tasks.QueuePolls, func(ti *asynq.TaskInfo) {
		// The words of ErrUnknownPage are in this version's error and in
		// the one before it, which archived such an item at once: the
		// rolling update that brings this one may add a Page too.
		if ti.Type != tasks.TypeWebhookItem || !strings.Contains(ti.LastErr, ErrUnknownPage.Error()) {
			return
		}
		if it, err := tasks.DecodeWebhookItem(ti.Payload); err == nil && pages[it.PageID] {
			ts = append(ts, archivedTask{id: ti.ID, page: it.PageID, own: ti.ID == it.TaskID(),
				enqueue: func() (tasks.Outcome, error) { return enq.EnqueueWebhookItem(ctx, it) }})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("run archived webhook items: %w", err)
	}
	return runArchived(enq.Inspector, tasks.QueuePolls, ts, "run archived webhook items")
}

// RunArchivedPollsOfPages runs again, in place, the poll tasks archived
// because the Page was not in the config of the workers that took them
// until their retries ran out (a scheduler on a new config queued them, the
// poll at start of a Page just added among them, while the workers were
// still on the old one) and whose Page is in pages now: the latest of each
// Page (by its slot), so a Page added on a long schedule (@hourly) is read
// at once, not at its next slot. The worker that takes it skips it when a
// later slot of the Page was due by then (it comes back as a retried poll,
// superseded: that slot's poll reads everything since); the Page's older
// ones, which it would skip alike, stay archived. It returns how many it
// ran, by Page.
func RunArchivedPollsOfPages(ctx context.Context, insp *asynq.Inspector, pages map[string]bool) (map[string]int, error) {
	return runArchivedPolls(ctx, insp, pages, nil)
}

// runArchivedPolls is RunArchivedPollsOfPages, leaving archived a Page's
// latest poll that stale (if not nil) reports superseded: the worker would
// skip it. The periodic round of a running worker (runArchivedOfOwnPages)
// passes its poll handler's: run, the Page's latest poll leaves the archive
// and an older one, superseded, becomes its latest; without it each read of
// the archive would run the next one, for nothing.
func runArchivedPolls(ctx context.Context, insp *asynq.Inspector, pages map[string]bool, stale func(*asynq.Task) bool) (map[string]int, error) {
	type latest struct {
		id   string
		slot int64
		task *asynq.Task
	}
	last := map[string]latest{}
	err := eachTask(ctx, insp.ListArchivedTasks, tasks.QueuePolls, func(ti *asynq.TaskInfo) {
		if ti.Type != tasks.TypePoll || !strings.Contains(ti.LastErr, ErrUnknownPage.Error()) {
			return
		}
		var p tasks.Poll
		if err := json.Unmarshal(ti.Payload, &p); err != nil || !pages[p.PageID] {
			return
		}
		if l, ok := last[p.PageID]; !ok || p.Slot > l.slot {
			last[p.PageID] = latest{id: ti.ID, slot: p.Slot, task: asynq.NewTask(ti.Type, ti.Payload)}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("run archived polls: %w", err)
	}
	var ids, of []string
	for page, l := range last {
		if stale != nil && stale(l.task) {
			continue
		}
		ids, of = append(ids, l.id), append(of, page)
	}
	ran, err := runTasks(insp, tasks.QueuePolls, ids, of)
	if err != nil {
		return ran, fmt.Errorf("run archived polls: %w", err)
	}
	return ran, nil
}

// archivedTask is an archived task of a Page to run again: own when its id
// is the one its producer's enqueue gives it, so that enqueue queues it
// anew in its place (replacing the archived task); one that is not would
// have a new task sit beside it, and is run again as it is.
type archivedTask struct {
	id, page string
	own      bool
	enqueue  func() (tasks.Outcome, error)
}

// runArchived runs ts again: each own task queued anew by its enqueue, the
// others (and those the enqueue neither queued nor found queued) run in
// place from queue's archive. It returns how many ran, by Page; Redis away
// stops it, with the count so far.
func runArchived(insp *asynq.Inspector, queue string, ts []archivedTask, what string) (map[string]int, error) {
	out := map[string]int{}
	var rerun, of []string
	for _, t := range ts {
		if !t.own {
			rerun, of = append(rerun, t.id), append(of, t.page)
			continue
		}
		o, err := t.enqueue()
		switch {
		case err != nil && tasks.RedisAway(err):
			return out, fmt.Errorf("%s: %w", what, err)
		case err == nil && o == tasks.Enqueued:
			out[t.page]++
		case err == nil && o == tasks.AlreadyQueued:
			// Another process starting replaced it, a worker took it, or
			// a redelivery queued it.
		default:
			rerun, of = append(rerun, t.id), append(of, t.page)
		}
	}
	ran, err := runTasks(insp, queue, rerun, of)
	for page, n := range ran {
		out[page] += n
	}
	if err != nil {
		return out, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// eachReply calls fn with every reply task that list (an Inspector's
// ListRetryTasks or ListArchivedTasks) returns for the replies queue, page
// by page; tasks whose payload is no reply are passed over.
func eachReply(ctx context.Context, list func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error), fn func(*asynq.TaskInfo, tasks.Reply)) error {
	return eachTask(ctx, list, tasks.QueueReplies, func(ti *asynq.TaskInfo) {
		if r, err := tasks.DecodeReply(ti.Payload); err == nil {
			fn(ti, r)
		}
	})
}

// eachTask calls fn with every task that list returns for queue, page by
// page.
func eachTask(ctx context.Context, list func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error), queue string, fn func(*asynq.TaskInfo)) error {
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		infos, err := list(queue, asynq.PageSize(wakePageSize), asynq.Page(n))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, ti := range infos {
			fn(ti)
		}
		if len(infos) < wakePageSize {
			return nil
		}
	}
}

// runTasks runs the tasks ids of queue (of the Pages pages, one each) now
// and counts them by Page. A task that moved meanwhile (a worker took it
// when due, another process starting ran it) needs no running.
func runTasks(insp *asynq.Inspector, queue string, ids, pages []string) (map[string]int, error) {
	out := map[string]int{}
	for i, id := range ids {
		err := insp.RunTask(queue, id)
		switch {
		case err == nil:
			out[pages[i]]++
		case errors.Is(err, asynq.ErrTaskNotFound), strings.Contains(err.Error(), "already running"),
			strings.Contains(err.Error(), "already in pending state"):
		default:
			return out, fmt.Errorf("run task %s of queue %s: %w", id, queue, err)
		}
	}
	return out, nil
}
