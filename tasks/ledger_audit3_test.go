package tasks

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestReserveBurstZeroIdlePage: a Page configured with a burst of 0 (sends
// spaced evenly at its rate) whose schedule is idle has a slot free now: a
// reservation books it at once, one that books no later slot (no-wait) too.
// Refused, an idle Page's no-wait replies would be put back to come again at
// once, find the schedule idle again, and never be sent.
func TestReserveBurstZeroIdlePage(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	for i, lim := range []Limit{
		{Interval: time.Hour},
		{Interval: time.Hour, NoWait: true},
		{Interval: time.Hour, MaxWait: time.Minute, NoWait: true},
	} {
		page := strconv.Itoa(i + 1)
		if r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "a"}, "t", time.Minute, lim); err != nil || r.Outcome != ReserveGo || r.Wait != 0 {
			t.Fatalf("limit %+v: reserve on an idle Page = %+v %v, want go now", lim, r, err)
		}
		// The next slot is an hour away: refused.
		if r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "b"}, "t", time.Minute, lim); err != nil || r.Outcome != ReserveLimited {
			t.Fatalf("limit %+v: second reserve = %+v %v, want limited", lim, r, err)
		}
	}
}

// TestReservePausedPageWithRate: a paused Page with a send rate is paused
// for every reservation, however free its schedule: nothing is claimed and
// no send slot booked, with or without no-wait.
func TestReservePausedPageWithRate(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	if _, err := l.Pause(ctx, page, time.Minute, PauseThrottled+": (#32)"); err != nil {
		t.Fatal(err)
	}
	for i, lim := range []Limit{
		{Interval: 100 * time.Millisecond, Burst: 2, MaxWait: time.Second},
		{Interval: 100 * time.Millisecond, Burst: 2, MaxWait: time.Second, NoWait: true},
	} {
		tg := Target{Kind: KindComment, ID: "p" + strconv.Itoa(i)}
		r, err := l.Reserve(ctx, page, tg, "t", time.Minute, lim)
		if err != nil || r.Outcome != ReservePaused || r.Wait <= 0 || r.Wait > time.Minute || r.Reason != PauseThrottled+": (#32)" {
			t.Fatalf("reserve with %+v on a paused Page = %+v %v, want paused", lim, r, err)
		}
		if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusNone {
			t.Fatalf("entry after a reserve on a paused Page = %+v %v, want none", e, err)
		}
	}
	if n := l.rdb.Exists(ctx, l.keys(page).rate).Val(); n != 0 {
		t.Fatalf("reservations on a paused Page booked send slots")
	}
}

// TestReserveBusyWaitIsLeaseLeft: a target another attempt holds is busy for
// what is left of that attempt's lease, not longer: the task retried after it
// finds the target free (or done) instead of waiting for ever.
func TestReserveBusyWaitIsLeaseLeft(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	tg := Target{Kind: KindComment, ID: "busy"}
	mustGo(t, l, page, tg, "a", time.Minute)
	r, err := l.Reserve(ctx, page, tg, "b", time.Minute, Limit{})
	if err != nil || r.Outcome != ReserveBusy || r.Wait <= 0 || r.Wait > time.Minute {
		t.Fatalf("reserve of a target another attempt holds = %+v %v, want busy for the rest of its minute", r, err)
	}
}

// TestReserveMergesOnlyOneMaxWait: batched reservations of one Page whose
// limits differ only in how far ahead they may book are not merged into one
// script call, whose one longest wait would be the other caller's: a reply
// booked further ahead than its caller allows waits past what it can hold,
// one refused within its own wait goes back to the queue for nothing.
func TestReserveMergesOnlyOneMaxWait(t *testing.T) {
	// The next slot is an hour away: within far's wait, not near's.
	near, far := Limit{Interval: time.Hour}, Limit{Interval: time.Hour, MaxWait: 2 * time.Hour}
	reserveTwoLimitsInOneBatch(t, near, map[string]Limit{"near": near, "far": far}, map[string]ReserveOutcome{"near": ReserveLimited, "far": ReserveGo})
}

// TestMarksCountEachTargetOnce: a target failed for good and marked failed
// again (a task run twice) keeps its first reason and is counted once; an
// unknown outcome is counted in no statistic: the Page's counters say how
// many targets were sent and failed, not how many marks were written.
func TestMarksCountEachTargetOnce(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	failed, unknown := Target{Kind: KindComment, ID: "f"}, Target{Kind: KindComment, ID: "u"}
	for _, reason := range []string{"(#10903) too old", "(#100) again"} {
		if err := l.MarkFailed(ctx, page, failed, reason); err != nil {
			t.Fatal(err)
		}
	}
	if e, err := l.Get(ctx, page, failed); err != nil || e.Status != StatusFailed || e.Reason != "(#10903) too old" {
		t.Fatalf("target failed twice = %+v %v, want failed with the first reason", e, err)
	}
	for _, settle := range []time.Duration{0, time.Second} {
		if err := l.MarkUnknown(ctx, page, unknown, settle); err != nil {
			t.Fatal(err)
		}
	}
	st, err := l.Stats(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 1 || st["failed"] != 1 {
		t.Fatalf("stats %v, want the one failure only", st)
	}
}

// TestClaimTokenMatchesWhole: a claim is its holder's token's, whole: a
// token that is only the start or the end of the holder's neither releases
// the claim nor is admitted to send on it (nor renews it, nor books a send).
func TestClaimTokenMatchesWhole(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	for _, holder := range []string{"ab", "ba"} {
		tg := Target{Kind: KindComment, ID: "h" + holder}
		mustGo(t, l, page, tg, holder, time.Minute)
		before := l.rdb.Get(ctx, l.entryKey(page, tg)).Val()
		if err := l.Release(ctx, page, tg, "a"); err != nil {
			t.Fatal(err)
		}
		if a, err := l.Admit(ctx, page, tg, "a", time.Hour, 10, time.Second); err != nil || !a.Lost {
			t.Fatalf("admit with %q of %q's claim = %+v %v, want lost", "a", holder, a, err)
		}
		if after := l.rdb.Get(ctx, l.entryKey(page, tg)).Val(); after != before {
			t.Fatalf("%q's claim after a release and an admission with %q: %q, want %q", holder, "a", after, before)
		}
	}
	if n := l.rdb.Exists(ctx, l.pageKey(page, "sends")).Val(); n != 0 {
		t.Fatalf("refused admissions booked sends")
	}
}

// TestAdmitWaitsForOldestSend: a full send log lets the next send in once
// its oldest send leaves the window, not its newest: the wait is the rest of
// the oldest one's window. The log is kept as long as a send in it counts,
// and no longer: a Page that stops sending leaves nothing behind.
func TestAdmitWaitsForOldestSend(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page, window = "1", 2 * time.Second
	sends := l.pageKey(page, "sends")
	// Sends 1.5 s and 0.1 s ago (Redis runs beside the tests, on their clock).
	now := time.Now()
	if err := l.rdb.ZAdd(ctx, sends,
		redis.Z{Score: float64(now.Add(-1500 * time.Millisecond).UnixMicro()), Member: "old"},
		redis.Z{Score: float64(now.Add(-100 * time.Millisecond).UnixMicro()), Member: "new"}).Err(); err != nil {
		t.Fatal(err)
	}
	tg := Target{Kind: KindComment, ID: "third"}
	mustGo(t, l, page, tg, "tok", time.Minute)
	a, err := l.Admit(ctx, page, tg, "tok", time.Minute, 2, window)
	if err != nil || a.Wait <= 0 || a.Wait > window-time.Second || a.Lost || a.Paused != 0 {
		t.Fatalf("admit with 2 sends in the window, the oldest 1.5s ago = %+v %v, want a wait of the oldest's last ~0.5s", a, err)
	}
	if err := l.rdb.Del(ctx, sends).Err(); err != nil {
		t.Fatal(err)
	}
	if a, err := l.Admit(ctx, page, tg, "tok", time.Minute, 2, window); err != nil || a != (Admission{}) {
		t.Fatalf("admit with an empty log = %+v %v, want admitted", a, err)
	}
	if ttl := l.rdb.PTTL(ctx, sends).Val(); ttl < window || ttl > window+time.Second {
		t.Fatalf("send log kept %s, want the window and a second (%s)", ttl, window+time.Second)
	}
}

// TestPauseEscalatingAtLongestKeepsBlock: a block that goes on at the
// longest pause keeps its record fresh: each pause at the longest counts the
// block on from itself, so the next refusal after it pauses for the longest
// again instead of the block being forgotten while it lasts and the Page
// paused for the first length (and throttled again at once).
func TestPauseEscalatingAtLongestKeepsBlock(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	m := time.Minute
	last := l.pageKey(page, "pause_last:"+PauseThrottled)
	for _, want := range []time.Duration{m, 2 * m, 2 * m} {
		if err := l.rdb.Del(ctx, l.pageKey(page, "pause")).Err(); err != nil { // the last pause ran out
			t.Fatal(err)
		}
		// Most of the last record's time has passed.
		if err := l.rdb.PExpire(ctx, last, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if d, err := l.PauseEscalating(ctx, page, m, 2*m, PauseThrottled+": (#32)"); err != nil || d != want {
			t.Fatalf("pause = %s %v, want %s", d, err, want)
		}
		if ttl := l.rdb.PTTL(ctx, last).Val(); ttl < 3*want-time.Minute {
			t.Fatalf("a pause of %s kept its record %s, want 3 times its length", want, ttl)
		}
	}
}

// TestAppPauseInFlightSeconds: an answer that says the app is at its limit
// seconds after the last one (a call that was in flight) gets the same
// pause, not twice it: only the first calls after the pause ran out double it.
func TestAppPauseInFlightSeconds(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	m := time.Minute
	if d, err := l.AppPauseLength(ctx, m, 30*m); err != nil || d != m {
		t.Fatalf("first app pause %s %v, want 1m", d, err)
	}
	// Ten seconds on.
	if err := l.rdb.PExpire(ctx, l.prefix+"app:pause_last", 3*m-10*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if d, err := l.AppPauseLength(ctx, m, 30*m); err != nil || d != m {
		t.Fatalf("an answer 10s after the first: %s %v, want the same 1m", d, err)
	}
}

// TestGetManyNone: the entries of no targets are none, not an error.
func TestGetManyNone(t *testing.T) {
	l := newLedger(t)
	if es, err := l.GetMany(context.Background(), "1", nil); err != nil || len(es) != 0 {
		t.Fatalf("GetMany of no targets = %v %v, want none", es, err)
	}
}
