package tasks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

func newLedger(t *testing.T) *Ledger {
	t.Helper()
	db := redistest.New(t)
	return NewLedger(db.Client, LedgerOptions{})
}

func TestReserveClaimMarkFlow(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	tg := Target{Kind: KindComment, ID: "1_2"}
	const page = "100"

	r, err := l.Reserve(ctx, page, tg, "tok1", time.Minute, Limit{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != ReserveGo || r.Doubtful || r.Wait != 0 {
		t.Fatalf("first reserve = %+v, want go, not doubtful, no wait", r)
	}
	// A second worker while the first holds the lease: busy.
	r2, err := l.Reserve(ctx, page, tg, "tok2", time.Minute, Limit{})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Outcome != ReserveBusy || r2.Wait <= 50*time.Second {
		t.Fatalf("second reserve = %+v, want busy for about the lease", r2)
	}
	if err := l.MarkSent(ctx, page, tg, "m_1"); err != nil {
		t.Fatal(err)
	}
	r3, err := l.Reserve(ctx, page, tg, "tok3", time.Minute, Limit{})
	if err != nil {
		t.Fatal(err)
	}
	if r3.Outcome != ReserveDone || r3.Entry.Status != StatusSent || r3.Entry.MessageID != "m_1" {
		t.Fatalf("reserve after sent = %+v, want done with message id", r3)
	}
	// Marks never downgrade a sent entry, and it is counted once.
	if err := l.MarkFailed(ctx, page, tg, "x"); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkSent(ctx, page, tg, "m_2"); err != nil {
		t.Fatal(err)
	}
	e, err := l.Get(ctx, page, tg)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != StatusSent || e.MessageID != "m_1" {
		t.Fatalf("entry = %+v, want the first sent", e)
	}
	st, err := l.Stats(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	if st["sent"] != 1 {
		t.Fatalf("stats = %v, want sent 1", st)
	}
	ttl := l.rdb.PTTL(ctx, l.entryKey(page, tg)).Val()
	if ttl < DefaultLedgerTTL-time.Minute {
		t.Fatalf("ledger TTL %s, want about %s (longer than the reply window)", ttl, DefaultLedgerTTL)
	}
}

// TestFailedEntryStaysFailed: a target Graph refused for good stays failed
// whatever an attempt that lost track of it writes next (an unknown outcome,
// with or without a settle time): only Graph saying the reply exists (a sent
// mark) replaces it. Were it made unknown, the next poll would queue the
// target again and an attempt would read Graph and send to it again.
func TestFailedEntryStaysFailed(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	tg := Target{Kind: KindComment, ID: "1_9"}
	mustGo(t, l, page, tg, "a", time.Minute)
	if err := l.MarkFailed(ctx, page, tg, "(#10903) too old"); err != nil {
		t.Fatal(err)
	}
	for _, settle := range []time.Duration{0, time.Second} {
		if err := l.MarkUnknown(ctx, page, tg, settle); err != nil {
			t.Fatal(err)
		}
		if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusFailed || e.Reason != "(#10903) too old" {
			t.Fatalf("failed entry after an unknown mark (settle %s) = %+v %v, want failed with its reason", settle, e, err)
		}
		if r, err := l.Reserve(ctx, page, tg, "b", time.Minute, Limit{}); err != nil || r.Outcome != ReserveDone || r.Entry.Status != StatusFailed {
			t.Fatalf("reserve of a failed target = %+v %v, want done, failed", r, err)
		}
	}
	if st, err := l.Stats(ctx, page); err != nil || st["failed"] != 1 {
		t.Fatalf("stats = %v %v, want the failure counted once", st, err)
	}
	if err := l.MarkSent(ctx, page, tg, "m_1"); err != nil {
		t.Fatal(err)
	}
	if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusSent {
		t.Fatalf("failed entry after a sent mark = %+v %v, want sent", e, err)
	}
}

// TestLedgerEntriesKeepTheirTTL: every write of a target's entry keeps it
// for the ledger's TTL, and no longer: a claim (fresh, or taken again over
// an entry in doubt), an unknown outcome, a failure, a sent mark and a sent
// mark repeated. An entry left without a TTL is never forgotten (a claim of
// a task deleted from the archive stays for ever); one with a shorter TTL
// forgets a sent reply inside the reply window.
func TestLedgerEntriesKeepTheirTTL(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	tg := func(id string) Target { return Target{Kind: KindComment, ID: id} }
	checkTTL := func(what string, tg Target) {
		t.Helper()
		ttl := l.rdb.PTTL(ctx, l.entryKey(page, tg)).Val()
		if ttl < DefaultLedgerTTL-time.Minute || ttl > DefaultLedgerTTL {
			t.Errorf("%s: entry's TTL %s, want the ledger's %s", what, ttl, DefaultLedgerTTL)
		}
	}
	mustGo(t, l, page, tg("claim"), "a", time.Minute)
	checkTTL("fresh claim", tg("claim"))

	mustGo(t, l, page, tg("unknown"), "a", time.Minute)
	if err := l.MarkUnknown(ctx, page, tg("unknown"), time.Second); err != nil {
		t.Fatal(err)
	}
	checkTTL("unknown outcome", tg("unknown"))

	mustGo(t, l, page, tg("again"), "a", time.Minute)
	if err := l.MarkUnknown(ctx, page, tg("again"), 0); err != nil {
		t.Fatal(err)
	}
	if r, err := l.Reserve(ctx, page, tg("again"), "b", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo || !r.Doubtful {
		t.Fatalf("reserve in doubt = %+v %v, want go, doubtful", r, err)
	}
	checkTTL("claim taken again over a doubt", tg("again"))

	mustGo(t, l, page, tg("failed"), "a", time.Minute)
	if err := l.MarkFailed(ctx, page, tg("failed"), "(#10903) too old"); err != nil {
		t.Fatal(err)
	}
	checkTTL("failed", tg("failed"))

	mustGo(t, l, page, tg("sent"), "a", time.Minute)
	for i := range 2 {
		if err := l.MarkSent(ctx, page, tg("sent"), "m_"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
		checkTTL("sent, marked "+strconv.Itoa(i+1)+" times", tg("sent"))
	}
}

func TestReserveDoubtful(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	tests := []struct {
		name    string
		prepare func(tg Target)
		want    bool
	}{
		{"fresh", func(Target) {}, false},
		{"released", func(tg Target) {
			mustGo(t, l, page, tg, "a", time.Minute)
			if err := l.Release(ctx, page, tg, "a"); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"unknown outcome", func(tg Target) {
			mustGo(t, l, page, tg, "a", time.Minute)
			if err := l.MarkUnknown(ctx, page, tg, 0); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"expired lease of a dead worker", func(tg Target) {
			mustGo(t, l, page, tg, "a", time.Millisecond)
			time.Sleep(20 * time.Millisecond)
		}, true},
		{"release by another token is ignored", func(tg Target) {
			mustGo(t, l, page, tg, "a", time.Millisecond)
			if err := l.Release(ctx, page, tg, "b"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg := Target{Kind: KindComment, ID: "d" + string(rune('a'+i))}
			tc.prepare(tg)
			r, err := l.Reserve(ctx, page, tg, "z", time.Minute, Limit{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != ReserveGo || r.Doubtful != tc.want {
				t.Fatalf("reserve = %+v, want go with doubtful=%v", r, tc.want)
			}
		})
	}
}

func mustGo(t *testing.T, l *Ledger, page string, tg Target, tok string, lease time.Duration) {
	t.Helper()
	r, err := l.Reserve(context.Background(), page, tg, tok, lease, Limit{})
	if err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve %s = %+v, %v; want go", tg, r, err)
	}
}

// TestReserveRate: a Page's reservations book send slots at its rate (burst
// + 1 at once, then one interval apart up to MaxWait ahead), and those
// refused are put back one interval apart from the Page's first free slot
// past the horizon. A claim booked for a later slot holds its target until
// that slot plus the lease, so no other attempt takes it before the send.
// When the Page's send capacity goes unused, its put-back schedule starts
// again: the next round is booked and put back as the first. A call's own
// MaxWait decides how far ahead it books.
func TestReserveRate(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "200"
	// 1/s, burst 2, book up to 2.5s ahead: slots a second apart, so that
	// a loaded machine's delays between the calls (tens of ms) move no slot
	// across the horizon.
	lim := Limit{Interval: time.Second, Burst: 2, MaxWait: 2500 * time.Millisecond}
	round := func(name string) {
		t.Helper()
		// A wait is counted from its call's time in Redis: each call made
		// later than the first (a loaded machine) sees its slot that much
		// nearer, never further. So the lower bounds below allow for the
		// time gone since the round began, and the upper ones do not.
		var waits, limited, waitGone, limitedGone []time.Duration
		var last Target
		began := time.Now()
		for i := 0; i < 8; i++ {
			tg := Target{Kind: KindComment, ID: name + string(rune('a'+i))}
			r, err := l.Reserve(ctx, page, tg, "t", time.Minute, lim)
			if err != nil {
				t.Fatal(err)
			}
			switch r.Outcome {
			case ReserveGo:
				waits, waitGone = append(waits, r.Wait), append(waitGone, time.Since(began))
				last = tg
			case ReserveLimited:
				limited, limitedGone = append(limited, r.Wait), append(limitedGone, time.Since(began))
			default:
				t.Fatalf("%s: reserve %d = %+v", name, i, r)
			}
		}
		// burst+1 at once, then slots 1s apart up to 2.5s ahead: 0,0,0,~1s,~2s.
		if len(waits) != 5 {
			t.Fatalf("%s: booked %d slots (%v), want 5", name, len(waits), waits)
		}
		for i, w := range waits {
			want := time.Duration(max(0, i-2)) * time.Second
			if w < want-50*time.Millisecond-waitGone[i] || w > want+50*time.Millisecond {
				t.Errorf("%s: slot %d wait %s, want about %s", name, i, w, want)
			}
		}
		// Refused ones come back one interval apart, the first at the
		// Page's first free slot (~3s).
		for i := 1; i < len(limited); i++ {
			if d := limited[i] - limited[i-1]; d < 950*time.Millisecond-limitedGone[i] || d > 1050*time.Millisecond {
				t.Errorf("%s: put-back %d is %s after the previous, want about 1s (%v)", name, i, d, limited)
			}
		}
		if len(limited) != 3 || limited[0] < 2950*time.Millisecond-limitedGone[0] || limited[0] > 3050*time.Millisecond {
			t.Errorf("%s: put-back delays %v, want 3 starting at the first free slot past the booking horizon (~3s)", name, limited)
		}
		// The last claim, booked ~2s ahead, is busy for the lease
		// counted from its slot.
		r, err := l.Reserve(ctx, page, last, "other", time.Minute, lim)
		if err != nil || r.Outcome != ReserveBusy || r.Wait < time.Minute+time.Second {
			t.Errorf("%s: reserve of the claim booked ~2s ahead by another token = %+v %v, want busy for its slot and a minute", name, r, err)
		}
	}
	round("r")
	// The Page's schedule runs out unused (its key expires): the put-back
	// schedule, which would still send put-backs ~6s on, restarts.
	if err := l.Client().Del(ctx, l.keys(page).rate).Err(); err != nil {
		t.Fatal(err)
	}
	round("s")
	// Booked ~5s ahead now: beyond this MaxWait, within a longer one.
	far := lim
	far.MaxWait = 10 * time.Second
	if r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "far"}, "t", time.Minute, far); err != nil || r.Outcome != ReserveGo {
		t.Errorf("reserve with a 10s MaxWait after ones of 2.5s = %+v %v, want go", r, err)
	}
}

func TestPause(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "300"
	if set, err := l.Pause(ctx, page, 2*time.Second, "throttled: code 80006"); err != nil || !set {
		t.Fatalf("pause = %v, %v", set, err)
	}
	// A shorter pause does not cut a longer one.
	if set, err := l.Pause(ctx, page, time.Second, "other"); err != nil || set {
		t.Fatalf("shorter pause = %v, %v; want not set", set, err)
	}
	r, err := l.Reserve(ctx, page, Target{Kind: KindPost, ID: "300_1"}, "t", time.Minute, Limit{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != ReservePaused || r.Reason != "throttled: code 80006" || r.Wait < time.Second {
		t.Fatalf("reserve on paused page = %+v", r)
	}
	// Nothing was claimed while paused.
	if e, _ := l.Get(ctx, page, Target{Kind: KindPost, ID: "300_1"}); e.Status != StatusNone {
		t.Fatalf("entry while paused = %+v, want none", e)
	}
	d, reason, err := l.Paused(ctx, page)
	if err != nil || d <= 0 || reason == "" {
		t.Fatalf("paused = %s %q %v", d, reason, err)
	}
	if err := l.Resume(ctx, page); err != nil {
		t.Fatal(err)
	}
	if d, _, _ := l.Paused(ctx, page); d != 0 {
		t.Fatalf("paused after resume = %s", d)
	}
}

func TestGetMany(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	ts := []Target{{KindComment, "a"}, {KindComment, "b"}, {KindPost, "c"}}
	if err := l.MarkSent(ctx, "1", ts[0], "m"); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkFailed(ctx, "1", ts[2], "(#10903) too old"); err != nil {
		t.Fatal(err)
	}
	es, err := l.GetMany(ctx, "1", ts)
	if err != nil {
		t.Fatal(err)
	}
	if es[0].Status != StatusSent || es[1].Status != StatusNone || es[2].Status != StatusFailed || es[2].Reason != "(#10903) too old" {
		t.Fatalf("entries = %+v", es)
	}
}

// TestBatchedReserve: many concurrent reservations through the batcher each get
// their own answer, and exactly one claim per target wins.
func TestBatchedReserve(t *testing.T) {
	db := redistest.New(t)
	l, ctx := newBatchedLedger(t, db.Client, LedgerOptions{})
	const targets, racers = 200, 3
	type result struct {
		tg  Target
		out ReserveOutcome
	}
	results := make(chan result, targets*racers)
	for r := 0; r < racers; r++ {
		for i := 0; i < targets; i++ {
			go func() {
				tg := Target{Kind: KindComment, ID: "b" + strconv.Itoa(i)}
				res, err := l.Reserve(ctx, "9", tg, NewToken(), time.Minute, Limit{})
				if err != nil {
					t.Error(err)
				}
				results <- result{tg, res.Outcome}
			}()
		}
	}
	won := map[Target]int{}
	for i := 0; i < targets*racers; i++ {
		r := <-results
		if r.out == ReserveGo {
			won[r.tg]++
		} else if r.out != ReserveBusy {
			t.Fatalf("outcome %v for %s", r.out, r.tg)
		}
	}
	if len(won) != targets {
		t.Fatalf("%d targets claimed, want %d", len(won), targets)
	}
	for tg, n := range won {
		if n != 1 {
			t.Fatalf("%s claimed %d times", tg, n)
		}
		if err := l.MarkSent(ctx, "9", tg, "m"); err != nil {
			t.Fatal(err)
		}
	}
	st, err := l.Stats(ctx, "9")
	if err != nil || st["sent"] != targets {
		t.Fatalf("stats %v %v", st, err)
	}
}

// TestBatchedLedgerAfterClose: calls made after Close still run (one by one)
// instead of waiting forever on stopped loops.
func TestBatchedLedgerAfterClose(t *testing.T) {
	db := redistest.New(t)
	l := NewLedger(db.Client, LedgerOptions{Batch: true})
	l.Close()
	l.Close() // twice is harmless
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := l.Reserve(ctx, "1", Target{Kind: KindComment, ID: "after"}, "t", time.Minute, Limit{})
	if err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve after close = %+v, %v", r, err)
	}
}

// NoWait books only a slot free now; a later slot within MaxWait is refused
// with the time to it and leaves the put-back schedule alone, so the refused
// reply keeps its place near the head of the Page's line.
func TestReserveNoWait(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "300"
	lim := Limit{Interval: 100 * time.Millisecond, Burst: 1, MaxWait: 250 * time.Millisecond}
	tg := func(i int) Target { return Target{Kind: KindComment, ID: "n" + strconv.Itoa(i)} }
	for i := 0; i < 2; i++ { // burst + 1 at once
		if r, err := l.Reserve(ctx, page, tg(i), "t", time.Minute, Limit{Interval: lim.Interval, Burst: 1, MaxWait: lim.MaxWait, NoWait: true}); err != nil || r.Outcome != ReserveGo || r.Wait != 0 {
			t.Fatalf("reserve %d = %+v, %v; want go now", i, r, err)
		}
	}
	nw := lim
	nw.NoWait = true
	r, err := l.Reserve(ctx, page, tg(2), "t", time.Minute, nw)
	if err != nil || r.Outcome != ReserveLimited || r.Wait <= 0 || r.Wait > lim.Interval {
		t.Fatalf("no-wait reserve with the next slot ~100ms away = %+v, %v; want limited until that slot", r, err)
	}
	// The put-back schedule was not touched: a waiting reservation books the
	// slot the refused one was told about.
	r2, err := l.Reserve(ctx, page, tg(3), "t", time.Minute, lim)
	if err != nil || r2.Outcome != ReserveGo || r2.Wait <= 0 || r2.Wait > lim.Interval {
		t.Fatalf("waiting reserve = %+v, %v; want go after about one interval", r2, err)
	}
	if n, _ := l.Client().Exists(ctx, l.pageKey(page, "back")).Result(); n != 0 {
		t.Fatalf("no-wait refusal wrote the put-back schedule")
	}
	// Beyond MaxWait a no-wait refusal joins the put-back schedule as before.
	for i := 4; i < 8; i++ {
		if _, err := l.Reserve(ctx, page, tg(i), "t", time.Minute, lim); err != nil {
			t.Fatal(err)
		}
	}
	r3, err := l.Reserve(ctx, page, tg(9), "t", time.Minute, nw)
	if err != nil || r3.Outcome != ReserveLimited || r3.Wait <= lim.MaxWait {
		t.Fatalf("no-wait reserve beyond MaxWait = %+v, %v; want limited past MaxWait", r3, err)
	}
}

// TestReserveKeepsToken: the script gets each token after a no-wait flag;
// the claim holds the token as given, whatever its first character, so the
// same token renews and releases it and another one finds it busy.
func TestReserveKeepsToken(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "310"
	for i, tok := range []string{"!x", "=y", "z"} {
		for _, noWait := range []bool{false, true} {
			tg := Target{Kind: KindComment, ID: "k" + strconv.Itoa(i) + strconv.FormatBool(noWait)}
			lim := Limit{NoWait: noWait}
			if r, err := l.Reserve(ctx, page, tg, tok, time.Minute, lim); err != nil || r.Outcome != ReserveGo {
				t.Fatalf("reserve %s with %q: %+v %v", tg, tok, r, err)
			}
			if r, err := l.Reserve(ctx, page, tg, "other", time.Minute, lim); err != nil || r.Outcome != ReserveBusy {
				t.Fatalf("reserve %s claimed by %q with another token: %+v %v; want busy", tg, tok, r, err)
			}
			if r, err := l.Reserve(ctx, page, tg, tok, time.Minute, lim); err != nil || r.Outcome != ReserveGo || !r.Doubtful {
				t.Fatalf("reserve %s again with %q: %+v %v; want go, doubtful", tg, tok, r, err)
			}
			if err := l.Release(ctx, page, tg, tok); err != nil {
				t.Fatal(err)
			}
			if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusNone {
				t.Fatalf("%s after release with %q: %+v %v", tg, tok, e, err)
			}
		}
	}
}

// TestBatcherCallersGivingUp: callers that stop waiting (their context ends
// while their call is queued or on the wire) neither lose their call nor
// stall the batcher: every call is still sent (and the claim of a caller that
// gave up released), later callers get answers, and Close returns once the
// queue is empty. With and without a linger (one pipeline in flight, or four).
func TestBatcherCallersGivingUp(t *testing.T) {
	for _, linger := range []time.Duration{0, time.Millisecond} {
		t.Run(linger.String(), func(t *testing.T) {
			db := redistest.New(t)
			l, bounded := newBatchedLedger(t, db.Client, LedgerOptions{Linger: linger})
			const n = 300
			calls := l.BatchStats().Calls
			gaveUp := make([]bool, n)
			var wg sync.WaitGroup
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := bounded
					if i%2 == 0 { // half give up at once or soon
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, time.Duration(i%3)*50*time.Microsecond)
						defer cancel()
					}
					tg := Target{Kind: KindComment, ID: "g" + strconv.Itoa(i)}
					_, err := l.Reserve(ctx, "7", tg, "tok"+strconv.Itoa(i), time.Minute, Limit{})
					if err != nil && i%2 == 1 {
						t.Errorf("reserve %s: %v", tg, err)
					}
					gaveUp[i] = err != nil
				}()
			}
			wg.Wait()
			last := Target{Kind: KindComment, ID: "last"}
			if r, err := l.Reserve(bounded, "7", last, "tok", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
				t.Fatalf("reserve after the others = %+v, %v", r, err)
			}
			closeWithin(t, l)
			// Every call went out, those of callers who gave up too, and
			// their claims were released.
			if sent := l.BatchStats().Calls - calls; sent != n+1 {
				t.Errorf("%d calls sent, want %d", sent, n+1)
			}
			ts := make([]Target, n)
			for i := range ts {
				ts[i] = Target{Kind: KindComment, ID: "g" + strconv.Itoa(i)}
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				es, err := l.GetMany(context.Background(), "7", ts)
				if err != nil {
					t.Fatal(err)
				}
				var wrong []string
				for i, e := range es {
					if want := map[bool]Status{false: StatusClaimed, true: StatusNone}[gaveUp[i]]; e.Status != want {
						wrong = append(wrong, fmt.Sprintf("%s: %v, want %v", ts[i], e.Status, want))
					}
				}
				if len(wrong) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d entries wrong: %v", len(wrong), wrong[:min(len(wrong), 5)])
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestBatcherLinger: with a linger, one batch gathers at a time, so the calls
// that arrive during it go out together as one pipeline (and, one Page's
// reservations, one script call); and a batch that reaches FlushAt calls goes
// at once instead of waiting out the linger.
func TestBatcherLinger(t *testing.T) {
	reserveAll := func(t *testing.T, l *Ledger, n int, prefix string) {
		t.Helper()
		// Far shorter than the linger of the early-flush case: a batch that
		// waited it out fails the calls.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				tg := Target{Kind: KindComment, ID: prefix + strconv.Itoa(i)}
				if r, err := l.Reserve(ctx, "8", tg, "tok", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
					t.Errorf("reserve %s = %+v, %v", tg, r, err)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	t.Run("one batch gathers", func(t *testing.T) {
		db := redistest.New(t)
		// A linger no caller outlasts: Close ends it once all have queued.
		l, _ := newBatchedLedger(t, db.Client, LedgerOptions{Linger: time.Hour})
		done := make(chan struct{})
		go func() { reserveAll(t, l, 20, "g"); close(done) }()
		waitBatcher(t, l, "holding all 20 calls", queued(20))
		// Calls that arrived while a batch gathered joined it: one sender
		// holds a slot (before, each of the first four started a batch).
		l.batch.mu.Lock()
		senders, gathering := l.batch.inflight, l.batch.gathering
		l.batch.mu.Unlock()
		if senders != 1 || !gathering {
			t.Fatalf("20 calls queued with %d senders (gathering %v), want 1 gathering", senders, gathering)
		}
		closeWithin(t, l)
		<-done
		if st := l.BatchStats(); st.Pipelines != 1 || st.Scripts != 1 || st.Calls != 20 {
			t.Fatalf("batch stats %+v, want 20 calls in one pipeline and one script call", st)
		}
	})
	t.Run("flush at", func(t *testing.T) {
		db := redistest.New(t)
		l, _ := newBatchedLedger(t, db.Client, LedgerOptions{Linger: time.Hour, FlushAt: 5})
		reserveAll(t, l, 5, "f")
		if st := l.BatchStats(); st.Calls != 5 {
			t.Fatalf("batch stats %+v, want 5 calls sent", st)
		}
		// A lone call afterwards would wait out the hour; Close ends the
		// linger and sends it.
		res := make(chan error, 1)
		go func() {
			_, err := l.Reserve(context.Background(), "8", Target{Kind: KindComment, ID: "lone"}, "tok", time.Minute, Limit{})
			res <- err
		}()
		waitBatcher(t, l, "holding the lone call", queued(1))
		closeWithin(t, l)
		select {
		case err := <-res:
			if err != nil {
				t.Fatalf("lone call: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Close did not end the linger")
		}
		if st := l.BatchStats(); st.Calls != 6 {
			t.Fatalf("batch stats %+v, want 6 calls sent", st)
		}
	})
}

// holdPipelines holds every pipeline until release is closed, telling held
// of each one it holds.
type holdPipelines struct{ held, release chan struct{} }

func (h holdPipelines) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h holdPipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h holdPipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.held <- struct{}{}
		<-h.release
		return next(ctx, cmds)
	}
}

// TestBatcherSendsCallQueuedBehindPipeline: without a linger one pipeline is
// on the wire at a time; a lone call that queued behind it is sent once it
// is answered, not left in the queue until some later call comes (a reply
// whose reservation never returns).
func TestBatcherSendsCallQueuedBehindPipeline(t *testing.T) {
	db := redistest.New(t)
	rdb := redis.NewClient(&redis.Options{Addr: db.Addr, DB: db.DB})
	t.Cleanup(func() { _ = rdb.Close() })
	hold := holdPipelines{held: make(chan struct{}, 4), release: make(chan struct{})}
	rdb.AddHook(hold)
	l, ctx := newBatchedLedger(t, rdb, LedgerOptions{})
	res := make(chan error, 2)
	reserve := func(id string) {
		r, err := l.Reserve(ctx, "1", Target{Kind: KindComment, ID: id}, "tok", time.Minute, Limit{})
		if err == nil && r.Outcome != ReserveGo {
			err = fmt.Errorf("reserve %s = %+v, want go", id, r)
		}
		res <- err
	}
	go reserve("first")
	waitBatcher(t, l, "sending the first call", func(*batcher) bool { return len(hold.held) > 0 })
	go reserve("behind")
	waitBatcher(t, l, "holding the second call behind it", queued(1))
	close(hold.release)
	for range 2 {
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}
}

func TestPauseKind(t *testing.T) {
	for reason, want := range map[string]string{
		PauseThrottled + ": usage headers near the limit": PauseThrottled,
		PausePageBroken + ": (#190) token expired":        PausePageBroken,
		PauseGraphDown + ": no answer from Graph":         PauseGraphDown,
		"page_brokenish: x":                               "other",
		"":                                                "other",
	} {
		if got := PauseKind(reason); got != want {
			t.Errorf("PauseKind(%q) = %q, want %q", reason, got, want)
		}
	}
}

// TestAdmitRenewsClaim: admission is the last step before a send, however
// long the reply waited after its reservation. It renews the caller's claim,
// and refuses (booking nothing) once the entry is no longer the caller's:
// a claim whose lease ran out may have been taken over by another attempt.
func TestAdmitRenewsClaim(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	tg := Target{Kind: KindMessage, ID: "m_1"}
	if r, err := l.Reserve(ctx, page, tg, "tok1", time.Second, Limit{}); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve = %+v %v", r, err)
	}
	before, err := l.Get(ctx, page, tg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := l.Admit(ctx, page, tg, "tok1", time.Hour, 10, time.Second)
	if err != nil || a != (Admission{Extended: true}) { // renewed from 1s to an hour: acked before the send
		t.Fatalf("admit of the claim's owner = %+v %v, want admitted", a, err)
	}
	after, err := l.Get(ctx, page, tg)
	if err != nil {
		t.Fatal(err)
	}
	if after.Status != StatusClaimed || after.At.Sub(before.At) < 50*time.Minute {
		t.Fatalf("claim after admission = %+v (before %+v), want its lease renewed for an hour", after, before)
	}
	// A lease that had run out is renewed too, and the admission says so.
	l.rdb.SetArgs(ctx, l.entryKey(page, tg), "c|tok1|"+strconv.FormatInt(time.Now().Add(-time.Second).UnixMilli(), 10), redis.SetArgs{KeepTTL: true})
	if a, err := l.Admit(ctx, page, tg, "tok1", time.Hour, 10, time.Second); err != nil || !a.Lapsed || a.Lost {
		t.Fatalf("admit of a lapsed claim = %+v %v, want admitted and lapsed", a, err)
	}
	if a, err := l.Admit(ctx, page, tg, "tok1", time.Hour, 10, time.Second); err != nil || a != (Admission{}) {
		t.Fatalf("admit of a live claim = %+v %v, want admitted, not lapsed", a, err)
	}
	if ttl := l.rdb.PTTL(ctx, l.entryKey(page, tg)).Val(); ttl < time.Hour {
		t.Fatalf("entry's TTL after admission %s, want the ledger's, kept", ttl)
	}

	// Another attempt's claim, or a settled entry, or none: not admitted,
	// nothing booked in the send log.
	sends := l.pageKey(page, "sends")
	n0 := l.rdb.ZCard(ctx, sends).Val()
	for _, set := range []func(){
		func() {
			l.rdb.Set(ctx, l.entryKey(page, tg), "c|tok2|"+strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10), time.Hour)
		},
		func() { _ = l.MarkSent(ctx, page, tg, "mid") },
		func() { l.rdb.Del(ctx, l.entryKey(page, tg)) },
	} {
		set()
		a, err := l.Admit(ctx, page, tg, "tok1", time.Hour, 10, time.Second)
		if err != nil || !a.Lost {
			t.Fatalf("admit after the claim changed hands = %+v %v, want lost", a, err)
		}
	}
	if n := l.rdb.ZCard(ctx, sends).Val(); n != n0 {
		t.Fatalf("send log went from %d to %d entries for refused admissions", n0, n)
	}
}

// TestAdmitGates: the last gate before a send refuses while the Page is
// paused (however the reply got its reservation before the pause), saying for
// how long and why, and once the Page's send log holds limit sends of the
// last window, saying how long until the oldest leaves it; a refusal books
// nothing, and the send goes when the pause ends or the window moves on.
func TestAdmitGates(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	sends := l.pageKey(page, "sends")
	claim := func(id string) Target {
		t.Helper()
		tg := Target{Kind: KindComment, ID: id}
		if r, err := l.Reserve(ctx, page, tg, "tok-"+id, time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
			t.Fatalf("reserve %s = %+v %v", id, r, err)
		}
		return tg
	}
	a1, a2, a3 := claim("1_1"), claim("1_2"), claim("1_3")
	if _, err := l.Pause(ctx, page, 300*time.Millisecond, "throttled"); err != nil {
		t.Fatal(err)
	}
	a, err := l.Admit(ctx, page, a1, "tok-1_1", time.Minute, 2, time.Second)
	if err != nil || a.Paused <= 0 || a.Paused > 300*time.Millisecond || a.Reason != "throttled" || a.Lost {
		t.Fatalf("admit while paused = %+v %v, want refused for the pause's time, saying why", a, err)
	}
	if n := l.rdb.ZCard(ctx, sends).Val(); n != 0 {
		t.Fatalf("a refused admission booked %d sends", n)
	}
	time.Sleep(a.Paused + 50*time.Millisecond)
	for _, tg := range []Target{a1, a2} {
		if a, err := l.Admit(ctx, page, tg, "tok-"+tg.ID, time.Minute, 2, time.Second); err != nil || a != (Admission{}) {
			t.Fatalf("admit of %s after the pause = %+v %v, want admitted", tg.ID, a, err)
		}
	}
	a, err = l.Admit(ctx, page, a3, "tok-1_3", time.Minute, 2, time.Second)
	if err != nil || a.Wait <= 0 || a.Wait > time.Second+time.Millisecond || a.Paused != 0 || a.Lost {
		t.Fatalf("third admit within the window of 2 = %+v %v, want a wait of at most the window", a, err)
	}
	if n := l.rdb.ZCard(ctx, sends).Val(); n != 2 {
		t.Fatalf("send log holds %d sends, want the 2 admitted", n)
	}
	time.Sleep(a.Wait + 10*time.Millisecond)
	if a, err := l.Admit(ctx, page, a3, "tok-1_3", time.Minute, 2, time.Second); err != nil || a.Lost || a.Lapsed || a.Paused != 0 || a.Wait != 0 {
		t.Fatalf("admit once the window moved on = %+v %v, want admitted", a, err)
	}
}

// TestAdmitWindowSlides: the send log counts the sends of the whole last
// window, not of part of it: two sends admitted with a limit of 2 in the window
// keep a third out until the window has passed since the first of them,
// however late in it the third comes.
func TestAdmitWindowSlides(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page, window = "100", 3 * time.Second
	claim := func(id string) Target {
		t.Helper()
		tg := Target{Kind: KindComment, ID: id}
		mustGo(t, l, page, tg, "tok-"+id, time.Minute)
		return tg
	}
	first, second := claim("1_1"), claim("1_2")
	// Redis timed the first send between b0 and b1 (one clock: the tests
	// run beside their Redis).
	b0 := time.Now()
	if a, err := l.Admit(ctx, page, first, "tok-1_1", time.Minute, 2, window); err != nil || a != (Admission{}) {
		t.Fatalf("admit 1_1 = %+v %v, want admitted", a, err)
	}
	b1 := time.Now()
	if a, err := l.Admit(ctx, page, second, "tok-1_2", time.Minute, 2, window); err != nil || a != (Admission{}) {
		t.Fatalf("admit 1_2 = %+v %v, want admitted", a, err)
	}
	third := claim("1_3")
	time.Sleep(1700 * time.Millisecond) // past half the window
	c0 := time.Now()
	a, err := l.Admit(ctx, page, third, "tok-1_3", time.Minute, 2, window)
	c1 := time.Now()
	if c1.Sub(b0) >= window-100*time.Millisecond {
		t.Skipf("the machine stalled for %s: the window had nearly passed", c1.Sub(b0)-1700*time.Millisecond)
	}
	// The rest of the first send's window: it began between b0 and b1 and
	// is measured between c0 and c1 (ms rounding aside).
	lo, hi := window-c1.Sub(b0)-5*time.Millisecond, window-c0.Sub(b1)+5*time.Millisecond
	if err != nil || a.Wait < lo || a.Wait > hi {
		t.Fatalf("third admit %s after the first = %+v %v, want a wait between %s and %s (the rest of the first's window)",
			c0.Sub(b0).Round(time.Millisecond), a, err, lo.Round(time.Millisecond), hi.Round(time.Millisecond))
	}
	time.Sleep(a.Wait + 10*time.Millisecond)
	if a, err := l.Admit(ctx, page, third, "tok-1_3", time.Minute, 2, window); err != nil || a.Wait != 0 || a.Paused != 0 || a.Lost {
		t.Fatalf("admit once the window moved on = %+v %v, want admitted", a, err)
	}
}

// TestReturnSendSlot: a send slot booked by a reservation that goes back to
// the queue unsent is given back, so the next reservation gets it; the
// schedule never moves back before now.
func TestReturnSendSlot(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	lim := Limit{Interval: 10 * time.Second, Burst: 1, MaxWait: time.Hour}
	var waits []time.Duration
	for i := range 3 {
		r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "1_" + strconv.Itoa(i)}, "tok", time.Minute, lim)
		if err != nil || r.Outcome != ReserveGo {
			t.Fatalf("reserve %d = %+v %v", i, r, err)
		}
		waits = append(waits, r.Wait)
	}
	if waits[2] < 9*time.Second {
		t.Fatalf("waits %v, want the third ~10s ahead", waits)
	}
	if err := l.ReturnSendSlot(ctx, page, lim); err != nil {
		t.Fatal(err)
	}
	r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "1_3"}, "tok", time.Minute, lim)
	if err != nil || r.Outcome != ReserveGo || r.Wait > waits[2] || r.Wait < waits[2]-time.Second {
		t.Fatalf("reserve after a returned slot = %+v %v, want the returned slot (~%s), not one more interval", r, err, waits[2])
	}
	// Returning more than was booked gives back nothing before now.
	for range 5 {
		if err := l.ReturnSendSlot(ctx, page, lim); err != nil {
			t.Fatal(err)
		}
	}
	tat, _ := l.rdb.Get(ctx, l.keys(page).rate).Int64()
	if now := time.Now().UnixMicro(); tat < now-int64(time.Second/time.Microsecond) {
		t.Fatalf("schedule moved %dµs before now", now-tat)
	}
}

// TestAbandonedReserveReleased: a batched reservation whose caller gave up
// waiting (a worker stopping) is still sent; its claim is then released, so
// the next attempt claims the target at once and is not doubtful. A
// doubtful target's claim is left to expire: it stays doubtful.
func TestAbandonedReserveReleased(t *testing.T) {
	db := redistest.New(t)
	l, bg := newBatchedLedger(t, db.Client, LedgerOptions{Linger: 100 * time.Millisecond})
	fresh, doubtful := Target{Kind: KindComment, ID: "abandoned"}, Target{Kind: KindComment, ID: "doubt"}
	if _, err := l.Reserve(bg, "1", doubtful, "t0", time.Minute, Limit{}); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkUnknown(bg, "1", doubtful, 0); err != nil {
		t.Fatal(err)
	}
	calls := l.BatchStats().Calls
	// Another reservation leads the batch and lingers (its caller sends
	// the batch itself), so the two below wait in the queue.
	led := make(chan error, 1)
	go func() {
		_, err := l.Reserve(bg, "1", Target{Kind: KindComment, ID: "leader"}, NewToken(), time.Minute, Limit{})
		led <- err
	}()
	waitBatcher(t, l, "gathering the leader's batch", func(b *batcher) bool { return b.gathering })
	for _, tg := range []Target{fresh, doubtful} {
		ctx, cancel := context.WithTimeout(bg, 5*time.Millisecond)
		_, err := l.Reserve(ctx, "1", tg, NewToken(), time.Minute, Limit{})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("reserve %s with a caller that gave up: %v, want its deadline", tg, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		e, err := l.Get(bg, "1", fresh)
		if err != nil {
			t.Fatal(err)
		}
		if l.BatchStats().Calls >= calls+3 && e.Status == StatusNone {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the abandoned claim stayed: entry %v, %d calls sent", e.Status, l.BatchStats().Calls-calls)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := <-led; err != nil {
		t.Fatal(err)
	}
	res, err := l.Reserve(bg, "1", fresh, NewToken(), time.Minute, Limit{})
	if err != nil || res.Outcome != ReserveGo || res.Doubtful {
		t.Fatalf("next attempt after an abandoned reservation: %+v %v, want a claim, not doubtful", res, err)
	}
	if e, err := l.Get(bg, "1", doubtful); err != nil || e.Status != StatusClaimed {
		t.Fatalf("doubtful target after an abandoned reservation: %v %v, want its claim left to expire", e.Status, err)
	}
}

// TestPauseEscalating: a block that goes on doubles its pause: a pause of
// the same kind set recently, the Page not paused now (its first calls after
// the last pause were refused again), makes the next twice as long, up to
// the longest; answers while the Page is paused (calls in flight) do not
// double it; a block long over starts again from the first length; a plain
// Pause never doubles.
func TestPauseEscalating(t *testing.T) {
	db := redistest.New(t)
	l := NewLedger(db.Client, LedgerOptions{})
	ctx := context.Background()
	const page = "1"
	pause := func(d, longest time.Duration) time.Duration {
		t.Helper()
		set, err := l.PauseEscalating(ctx, page, d, longest, PauseThrottled+": (#32) Page request limit reached")
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	end := func() { // the pause runs out
		t.Helper()
		if err := db.Client.Del(ctx, l.pageKey(page, "pause")).Err(); err != nil {
			t.Fatal(err)
		}
	}
	m := time.Minute
	if d := pause(m, 30*m); d != m {
		t.Fatalf("first pause %s, want %s", d, m)
	}
	// A second answer during the pause does not double it. (A millisecond
	// after the first, the pause has less than its minute left, so it may be
	// renewed for the minute: on a loaded machine it is.)
	if d := pause(m, 30*m); d != 0 && d != m {
		t.Fatalf("a second answer during the pause set %s, want nothing or the same minute", d)
	}
	for _, want := range []time.Duration{2 * m, 4 * m, 8 * m, 16 * m, 30 * m, 30 * m} {
		end()
		if d := pause(m, 30*m); d != want {
			t.Fatalf("pause after the last ran out: %s, want %s", d, want)
		}
	}
	if ttl, _ := db.Client.PTTL(ctx, l.pageKey(page, "pause")).Result(); ttl < 29*m {
		t.Fatalf("pause key lives %s, want 30m", ttl)
	}
	// Long after (past 3 times the last pause) the block is over.
	end()
	if err := db.Client.Del(ctx, l.pageKey(page, "pause_last:"+PauseThrottled)).Err(); err != nil {
		t.Fatal(err)
	}
	if d := pause(m, 30*m); d != m {
		t.Fatalf("pause after the block was over: %s, want %s", d, m)
	}
	if ttl, _ := db.Client.PTTL(ctx, l.pageKey(page, "pause_last:"+PauseThrottled)).Result(); ttl < 2*m || ttl > 3*m {
		t.Fatalf("the last pause is kept %s, want 3 times its length", ttl)
	}
	// A shorter pause set while a longer one of the block runs out (an
	// answer with its own, shorter time) does not make the block forget
	// the longer: the next pause after it doubles the longer one.
	end()
	if d := pause(m, 30*m); d != 2*m {
		t.Fatalf("pause after the last ran out: %s, want %s", d, 2*m)
	}
	if err := db.Client.PExpire(ctx, l.pageKey(page, "pause"), 30*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if d := pause(m, 30*m); d != m {
		t.Fatalf("a 1m pause with 30s of the last left: %s, want 1m", d)
	}
	end()
	if d := pause(m, 30*m); d != 4*m {
		t.Fatalf("pause after a shorter one set during the block: %s, want twice the longer, %s", d, 4*m)
	}
	// A plain Pause does not double.
	end()
	if set, err := l.Pause(ctx, page, m, PauseThrottled+": (#4) with Graph's time"); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
	if ttl, _ := db.Client.PTTL(ctx, l.pageKey(page, "pause")).Result(); ttl > m {
		t.Fatalf("a plain pause of 1m lives %s", ttl)
	}
}

// TestAppPauseLength: the app's pause doubles while its block goes on (the
// first calls after a pause refused again), whichever Page's call was
// refused; answers to calls in flight get the same length; a block long over
// starts again from the first length.
func TestAppPauseLength(t *testing.T) {
	db := redistest.New(t)
	l := NewLedger(db.Client, LedgerOptions{})
	ctx := context.Background()
	key := l.prefix + "app:pause_last"
	m := time.Minute
	length := func() time.Duration {
		t.Helper()
		d, err := l.AppPauseLength(ctx, m, 30*m)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if d := length(); d != m {
		t.Fatalf("first app pause %s, want 1m", d)
	}
	if d := length(); d != m {
		t.Fatalf("an answer in flight: %s, want the same 1m", d)
	}
	last := m
	for _, want := range []time.Duration{2 * m, 4 * m, 8 * m, 16 * m, 30 * m, 30 * m} {
		// The last pause ran out: its record was set more than its length ago.
		if err := db.Client.PExpire(ctx, key, 2*last-time.Second).Err(); err != nil {
			t.Fatal(err)
		}
		if d := length(); d != want {
			t.Fatalf("app pause after the last ran out: %s, want %s", d, want)
		}
		last = want
	}
	if err := db.Client.Del(ctx, key).Err(); err != nil { // long over
		t.Fatal(err)
	}
	if d := length(); d != m {
		t.Fatalf("app pause after the block was over: %s, want 1m", d)
	}
}

// TestUnknownSettles: a target marked unknown with a settle time (a send that
// got no answer and may still land) is not reserved until it has passed:
// Reserve answers ReserveSettling with the time left, in Redis's clock, and
// after it the target is reserved as doubtful, so Graph is checked then. A
// sent mark ends it at once; one with no settle time is doubtful at once.
func TestUnknownSettles(t *testing.T) {
	db := redistest.New(t)
	l := NewLedger(db.Client, LedgerOptions{})
	ctx := context.Background()
	late, now, sent := Target{Kind: KindMessage, ID: "m_late"}, Target{Kind: KindComment, ID: "c_now"}, Target{Kind: KindComment, ID: "c_sent"}
	for _, tg := range []Target{late, now, sent} {
		if res, err := l.Reserve(ctx, "1", tg, "t0", time.Minute, Limit{}); err != nil || res.Outcome != ReserveGo {
			t.Fatalf("reserve %s: %+v %v", tg, res, err)
		}
	}
	const settle = 1500 * time.Millisecond
	for _, tg := range []Target{late, sent} {
		if err := l.MarkUnknown(ctx, "1", tg, settle); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.MarkUnknown(ctx, "1", now, 0); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkSent(ctx, "1", sent, "m.1"); err != nil {
		t.Fatal(err)
	}
	if e, err := l.Get(ctx, "1", late); err != nil || e.Status != StatusUnknown {
		t.Fatalf("entry %+v %v, want unknown", e, err)
	}
	res, err := l.Reserve(ctx, "1", late, "t1", time.Minute, Limit{})
	if err != nil || res.Outcome != ReserveSettling || res.Wait <= 0 || res.Wait > settle {
		t.Fatalf("reserve while settling: %+v %v, want ReserveSettling within %s", res, err, settle)
	}
	if res, err := l.Reserve(ctx, "1", now, "t1", time.Minute, Limit{}); err != nil || res.Outcome != ReserveGo || !res.Doubtful {
		t.Errorf("reserve unknown with no settle time: %+v %v, want ReserveGo, doubtful", res, err)
	}
	if res, err := l.Reserve(ctx, "1", sent, "t1", time.Minute, Limit{}); err != nil || res.Outcome != ReserveDone {
		t.Errorf("reserve sent during its settle time: %+v %v, want ReserveDone", res, err)
	}
	time.Sleep(res.Wait + 50*time.Millisecond)
	if res, err := l.Reserve(ctx, "1", late, "t1", time.Minute, Limit{}); err != nil || res.Outcome != ReserveGo || !res.Doubtful {
		t.Errorf("reserve after the settle time: %+v %v, want ReserveGo, doubtful", res, err)
	}
}

// TestAdmitExtended: an admission right after the reservation renews the
// claim's lease by next to nothing and needs no replica's ack; one that comes
// more than a second later (the reply waited for the Page's send log, or for
// a slow doubt check) moves the lease on, and says so (Extended): a replica
// may still hold the older lease, which a failover would bring back.
func TestAdmitExtended(t *testing.T) {
	db := redistest.New(t)
	l := NewLedger(db.Client, LedgerOptions{})
	ctx := context.Background()
	const page, lease = "1", 10 * time.Second
	tg := Target{Kind: KindComment, ID: "ext"}
	if res, err := l.Reserve(ctx, page, tg, "tok", lease, Limit{}); err != nil || res.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	if a, err := l.Admit(ctx, page, tg, "tok", lease, 10, time.Second); err != nil || a != (Admission{}) {
		t.Fatalf("admit at once = %+v %v, want admitted, not extended", a, err)
	}
	time.Sleep(1200 * time.Millisecond)
	if a, err := l.Admit(ctx, page, tg, "tok", lease, 10, time.Second); err != nil || a != (Admission{Extended: true}) {
		t.Fatalf("admit 1.2s later = %+v %v, want admitted and extended", a, err)
	}
}
