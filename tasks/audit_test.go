package tasks

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"
)

// TestEnqueueFailedForGood: a target the ledger has failed for good is
// AlreadyFailed and gets no task: queued again, its reply would be tried
// anew though Graph refused it for good.
func TestEnqueueFailedForGood(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	tg := Target{KindComment, "1_2"}
	if err := e.Ledger.MarkFailed(ctx, "7", tg, "code 10903"); err != nil {
		t.Fatal(err)
	}
	o, info, err := e.Enqueue(ctx, Reply{PageID: "7", Target: tg, Text: "hi", Source: SourceAPI})
	if err != nil || o != AlreadyFailed || info != nil {
		t.Fatalf("enqueue of a failed target: %v %v %v, want failed", o, info, err)
	}
	if _, err := insp.GetTaskInfo(QueueReplies, tg.String()); err == nil {
		t.Errorf("a task was queued for a target failed for good")
	}
}

// TestMaxReplacementsIsThree: a target whose tasks ran out of retries 3
// times is queued once more; at 4 it is given up (three more tasks, as
// MaxReplacements documents: each brings max_retry+1 sends).
func TestMaxReplacementsIsThree(t *testing.T) {
	ctx := context.Background()
	e, _ := inspectingEnqueuer(t)
	for _, tc := range []struct {
		ranOut int
		want   Outcome
	}{{3, Enqueued}, {4, AlreadyFailed}} {
		tg := Target{KindComment, "1_" + string(rune('0'+tc.ranOut))}
		for range tc.ranOut {
			if _, err := e.Ledger.CountRanOut(ctx, "7", tg, "code 2"); err != nil {
				t.Fatal(err)
			}
		}
		o, _, err := e.Enqueue(ctx, Reply{PageID: "7", Target: tg, Text: "hi", Source: SourcePoll})
		if err != nil || o != tc.want {
			t.Errorf("ran out %d times: %v %v, want %v", tc.ranOut, o, err, tc.want)
		}
	}
}

// TestReplaceInDoubtKeepsText: an archived conversation reply whose attempt
// may have reached the person (ledger unknown) is replaced by a task with the
// archived one's text, not the new caller's: the worker's check looks for
// the text that attempt sent.
func TestReplaceInDoubtKeepsText(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	tg := Target{KindMessage, "m_a"}
	r := Reply{PageID: "7", Target: tg, PSID: "42", ConversationID: "t_1", Text: "first text", Source: SourcePoll}
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	if err := e.Ledger.MarkUnknown(ctx, "7", tg, 0); err != nil {
		t.Fatal(err)
	}
	if err := insp.ArchiveTask(QueueReplies, tg.String()); err != nil {
		t.Fatal(err)
	}
	r.Text = "second text"
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("replacing enqueue: %v %v", o, err)
	}
	ti, err := insp.GetTaskInfo(QueueReplies, tg.String())
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeReply(ti.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "first text" {
		t.Errorf("replacement of a reply in doubt has text %q, want the archived one's %q", got.Text, "first text")
	}
}

// TestEnqueueManyOtherPage: EnqueueMany refuses a reply of another Page than
// the one it reads the ledger of, and queues nothing: its ledger entry would
// have been read under the wrong Page (a sent reply taken for unsent).
func TestEnqueueManyOtherPage(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	tg := Target{KindComment, "8_1"}
	out, err := e.EnqueueMany(ctx, "7", []Reply{{PageID: "8", Target: tg, Text: "hi", Source: SourcePoll}})
	if err == nil {
		t.Errorf("EnqueueMany with a reply of another Page: %v, want an error", out)
	}
	if _, err := insp.GetTaskInfo(QueueReplies, tg.String()); err == nil {
		t.Errorf("a task was queued for a reply of another Page")
	}
}

// TestEnqueueWithoutInspector: an Enqueuer without an Inspector (which
// cannot replace an archived task) still tells a second enqueue of a queued
// target queued, with no task info, and queues one task; the task keeps
// DefaultRetention when Retention is unset, so its TaskID refuses a second
// enqueue for a while after it finishes.
func TestEnqueueWithoutInspector(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	e.Inspector = nil
	r := Reply{PageID: "7", Target: Target{KindComment, "7_9"}, Text: "hi", Source: SourceAPI}
	o, info, err := e.Enqueue(ctx, r)
	if err != nil || o != Enqueued || info == nil {
		t.Fatalf("first enqueue: %v %v %v", o, info, err)
	}
	if info.Retention != DefaultRetention {
		t.Errorf("task retention %s, want DefaultRetention %s", info.Retention, DefaultRetention)
	}
	if o, info, err := e.Enqueue(ctx, r); err != nil || o != AlreadyQueued || info != nil {
		t.Fatalf("second enqueue without an Inspector: %v %v %v, want queued", o, info, err)
	}
	if n, err := insp.ListPendingTasks(QueueReplies); err != nil || len(n) != 1 {
		t.Fatalf("pending tasks %d (%v), want 1", len(n), err)
	}
}

// TestGiveUpCommentInDoubt: past MaxReplacements, a comment reply whose
// outcome is unknown is given up like any other: only a conversation reply
// in doubt is kept (its entry holds its person); a comment's second reply
// Graph refuses itself (10900). Replaced instead, a comment Graph keeps
// answering with transient errors would be sent again for every find.
func TestGiveUpCommentInDoubt(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	tg := Target{KindComment, "7_5"}
	r := Reply{PageID: "7", Target: tg, Text: "hi", Source: SourcePoll}
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	if err := insp.ArchiveTask(QueueReplies, tg.String()); err != nil {
		t.Fatal(err)
	}
	if err := e.Ledger.MarkUnknown(ctx, "7", tg, 0); err != nil {
		t.Fatal(err)
	}
	for range MaxReplacements + 1 {
		if _, err := e.Ledger.CountRanOut(ctx, "7", tg, "code 2"); err != nil {
			t.Fatal(err)
		}
	}
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != AlreadyFailed {
		t.Fatalf("enqueue of a comment in doubt past the cap: %v %v, want failed", o, err)
	}
	if ti, err := insp.GetTaskInfo(QueueReplies, tg.String()); err != nil || ti.State != asynq.TaskStateArchived {
		t.Errorf("the comment's task: %v %v, want still archived (not replaced)", ti, err)
	}
}

// TestClaimedConversationNotGivenUp: a conversation reply whose entry is
// claimed (a worker may be sending it now, or its worker died with the lease
// running) is in doubt as much as one whose outcome is unknown: past
// MaxReplacements its archived task is replaced, not recorded failed (which
// would drop the claim on its person), and the replacement keeps the
// archived task's text, which the worker's check looks for.
func TestClaimedConversationNotGivenUp(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	tg := Target{KindMessage, "m_c"}
	r := Reply{PageID: "7", Target: tg, PSID: "42", ConversationID: "t_1", Text: "first text", Source: SourcePoll}
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	if res, err := e.Ledger.Reserve(ctx, "7", tg, "tok", time.Minute, Limit{}); err != nil || res.Outcome != ReserveGo {
		t.Fatalf("claim: %+v %v", res, err)
	}
	if err := insp.ArchiveTask(QueueReplies, tg.String()); err != nil {
		t.Fatal(err)
	}
	for range MaxReplacements + 1 {
		if _, err := e.Ledger.CountRanOut(ctx, "7", tg, "code 2"); err != nil {
			t.Fatal(err)
		}
	}
	r.Text = "second text"
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("enqueue of a claimed conversation reply past the cap: %v %v, want enqueued (replaced)", o, err)
	}
	if en, err := e.Ledger.Get(ctx, "7", tg); err != nil || en.Status != StatusClaimed {
		t.Errorf("ledger %+v %v, want still claimed", en, err)
	}
	ti, err := insp.GetTaskInfo(QueueReplies, tg.String())
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeReply(ti.Payload); err != nil || got.Text != "first text" {
		t.Errorf("replacement's text %q (%v), want the archived one's", got.Text, err)
	}
}

// TestEnqueueManyReturnsError: an enqueue that fails in the middle of a batch
// is the batch's error, with the outcomes so far: swallowed, the poll that
// found the replies would take them for handled.
func TestEnqueueManyReturnsError(t *testing.T) {
	ctx := context.Background()
	e, _ := inspectingEnqueuer(t)
	rs := []Reply{
		{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "a", Source: SourcePoll},
		{PageID: "7", Target: Target{KindComment, "7_2"}, Text: "b", Source: SourcePoll},
	}
	if err := e.Ledger.MarkSent(ctx, "7", rs[0].Target, "m"); err != nil {
		t.Fatal(err)
	}
	_ = e.Client.Close() // the queue out of reach
	outs, err := e.EnqueueMany(ctx, "7", rs)
	if err == nil || len(outs) != 1 || outs[0] != AlreadySent {
		t.Fatalf("EnqueueMany with the queue out of reach: %v %v, want [sent] and an error", outs, err)
	}
}

// TestEnqueueInvalid: Enqueue refuses a reply that fails Validate (a blank
// text, a conversation reply without its person) with an error, and queues
// nothing: the worker would only drop it.
func TestEnqueueInvalid(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	for _, r := range []Reply{
		{PageID: "7", Target: Target{KindComment, "7_8"}, Text: "  ", Source: SourceAPI},
		{PageID: "7", Target: Target{KindMessage, "m_8"}, Text: "hi", Source: SourceAPI},
	} {
		if o, info, err := e.Enqueue(ctx, r); err == nil || o != "" || info != nil {
			t.Errorf("enqueue of invalid %+v: %v %v %v, want an error", r, o, info, err)
		}
		if _, err := insp.GetTaskInfo(QueueReplies, r.Target.String()); err == nil {
			t.Errorf("a task was queued for invalid %+v", r)
		}
	}
}

// TestClipReason: a long last error is cut to at most 300 bytes, at a
// character boundary, with an ellipsis, so the ledger reason stays valid
// UTF-8.
func TestClipReason(t *testing.T) {
	if s := clipReason("short"); s != "short" {
		t.Errorf("clipReason(short) = %q", s)
	}
	long := "x" + strings.Repeat("é", 300)
	got := clipReason(long)
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || len(got) > 300+len("…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("clipReason of %d bytes = %q (%d bytes)", len(long), got, len(got))
	}
}

// TestSettleKeepsItsLength: a target marked unknown with a settle time is
// settling for all of it, not a part: a check of Graph made before a late
// send lands finds nothing and sends a second reply. A settle time under a
// second settles too.
func TestSettleKeepsItsLength(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	for _, settle := range []time.Duration{time.Hour, 900 * time.Millisecond} {
		tg := Target{Kind: KindMessage, ID: "m_" + settle.String()}
		mustGo(t, l, page, tg, "t0", time.Minute)
		if err := l.MarkUnknown(ctx, page, tg, settle); err != nil {
			t.Fatal(err)
		}
		res, err := l.Reserve(ctx, page, tg, "t1", time.Minute, Limit{})
		if err != nil || res.Outcome != ReserveSettling || res.Wait > settle {
			t.Fatalf("reserve while settling %s: %+v %v, want ReserveSettling", settle, res, err)
		}
		if settle == time.Hour && res.Wait < 59*time.Minute {
			t.Fatalf("settling for %s of a %s settle time", res.Wait, settle)
		}
	}
}

// TestRateScheduleOutlivesASecond: a Page's send schedule booked seconds
// ahead is kept until its last booked slot: kept a second only, it would be
// forgotten while replies still wait for their slots, and the next ones
// would be booked at once beside them (the Page sent over its rate).
func TestRateScheduleOutlivesASecond(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	lim := Limit{Interval: time.Second, MaxWait: 10 * time.Second}
	for i := range 4 { // slots at 0, 1, 2 and 3 s
		if r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "a" + strconv.Itoa(i)}, "t", time.Minute, lim); err != nil || r.Outcome != ReserveGo {
			t.Fatalf("reserve %d: %+v %v", i, r, err)
		}
	}
	time.Sleep(1200 * time.Millisecond)
	r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "late"}, "t", time.Minute, lim)
	if err != nil || r.Outcome != ReserveGo || r.Wait < 2*time.Second {
		t.Fatalf("reserve 1.2s after booking slots up to 3s ahead: %+v %v, want the slot after them (~2.8s)", r, err)
	}
}

// TestPutBackScheduleOutlivesASecond: replies put back for a Page's rate are
// given return times after those put back before, even a second later while
// the Page's schedule still runs: a schedule kept a second only would send
// the next put-backs back with the earlier ones.
func TestPutBackScheduleOutlivesASecond(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	lim := Limit{Interval: time.Second, MaxWait: 1500 * time.Millisecond}
	reserve := func(id string) Reservation {
		t.Helper()
		r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: id}, "t", time.Minute, lim)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// Booked at 0 and 1 s; put back to 2, 3 and 4 s.
	for i, want := range []ReserveOutcome{ReserveGo, ReserveGo, ReserveLimited, ReserveLimited, ReserveLimited} {
		if r := reserve("a" + strconv.Itoa(i)); r.Outcome != want {
			t.Fatalf("reserve %d: %+v, want outcome %d", i, r, want)
		}
	}
	time.Sleep(1200 * time.Millisecond)
	if r := reserve("b0"); r.Outcome != ReserveGo { // the slot at 2 s
		t.Fatalf("reserve 1.2s on: %+v, want go", r)
	}
	if r := reserve("b1"); r.Outcome != ReserveLimited || r.Wait < 3*time.Second {
		t.Fatalf("put-back 1.2s on: %+v, want after the put-backs before (~3.8s)", r)
	}
}

// TestShortPauseStillPauses: a Page paused for less than a second is paused:
// Reserve answers ReservePaused with the time left.
func TestShortPauseStillPauses(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	if set, err := l.Pause(ctx, page, 800*time.Millisecond, PauseThrottled+": short"); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
	r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "c"}, "t", time.Minute, Limit{})
	if err != nil || r.Outcome != ReservePaused || r.Wait <= 0 || r.Wait > 800*time.Millisecond || r.Reason != PauseThrottled+": short" {
		t.Fatalf("reserve during a short pause: %+v %v, want paused", r, err)
	}
	// A pause shorter than a millisecond is a millisecond, not an error.
	if _, err := l.Pause(ctx, "2", time.Microsecond, PauseThrottled+": tiny"); err != nil {
		t.Fatalf("pause of a microsecond: %v", err)
	}
}

// TestReserveLimitChanges: a Page reserved under another limit (a larger
// burst) is reserved under the new one, not the first one the ledger saw.
func TestReserveLimitChanges(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	lim := Limit{Interval: time.Second}
	if r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "a"}, "t", time.Minute, lim); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", r, err)
	}
	lim.Burst = 3
	for i := range 3 {
		if r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "b" + strconv.Itoa(i)}, "t", time.Minute, lim); err != nil || r.Outcome != ReserveGo || r.Wait != 0 {
			t.Fatalf("reserve %d with a burst of 3: %+v %v, want go now", i, r, err)
		}
	}
}

// TestMarksKeepLedgerTTL: a failed or unknown mark of a target the ledger
// did not have is kept for the ledger's TTL, not for ever.
func TestMarksKeepLedgerTTL(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	failed, unknown := Target{Kind: KindComment, ID: "f"}, Target{Kind: KindComment, ID: "u"}
	if err := l.MarkFailed(ctx, page, failed, "(#10903) too old"); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkUnknown(ctx, page, unknown, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []Target{failed, unknown} {
		if ttl := l.rdb.PTTL(ctx, l.entryKey(page, tg)).Val(); ttl < DefaultLedgerTTL-time.Minute || ttl > DefaultLedgerTTL {
			t.Errorf("%s: entry's TTL %s, want the ledger's %s", tg, ttl, DefaultLedgerTTL)
		}
	}
}
