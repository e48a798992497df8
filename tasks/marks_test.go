package tasks

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/internal/redistest"
)

// Concurrent MarkSent calls are merged a Page at a time, never downgrade or
// recount a sent entry, and replace the claim they follow.
func TestMarkSentMerged(t *testing.T) {
	for _, linger := range []time.Duration{0, time.Millisecond} {
		t.Run(fmt.Sprint("linger ", linger), func(t *testing.T) { testMarkSentMerged(t, linger) })
	}
}

func testMarkSentMerged(t *testing.T, linger time.Duration) {
	db := redistest.New(t)
	l, ctx := newBatchedLedger(t, db.Client, LedgerOptions{Linger: linger})
	pages := []string{"100", "200", "300"}
	// One target per Page is already sent: a second mark must neither change
	// it nor count it again.
	for _, p := range pages {
		if err := l.MarkSent(ctx, p, Target{Kind: KindComment, ID: "old"}, "m_old"); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for _, p := range pages {
		for i := 0; i < 300; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tg := Target{Kind: KindComment, ID: fmt.Sprint("c", i)}
				if r, err := l.Reserve(ctx, p, tg, "tok", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
					t.Errorf("reserve %s: %+v %v", tg, r, err)
					return
				}
				if err := l.MarkSent(ctx, p, tg, "m_"+tg.ID); err != nil {
					t.Error(err)
				}
				// Once MarkSent returns, the entry is sent.
				if e, err := l.Get(ctx, p, tg); err != nil || e.Status != StatusSent || e.MessageID != "m_"+tg.ID {
					t.Errorf("page %s %s after MarkSent: %+v %v", p, tg, e, err)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.MarkSent(ctx, p, Target{Kind: KindComment, ID: "old"}, "m_new"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, p := range pages {
		st, err := l.Stats(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if st["sent"] != 301 {
			t.Errorf("page %s: sent = %d, want 301 (300 new + 1 old, counted once)", p, st["sent"])
		}
		old, _ := l.Get(ctx, p, Target{Kind: KindComment, ID: "old"})
		if old.MessageID != "m_old" {
			t.Errorf("page %s: sent entry rewritten: %+v", p, old)
		}
	}
}

// While Redis is away, ledger calls fail with an error (none hangs, none
// claims success); once it is back they work again.
func TestLedgerRedisGoesAway(t *testing.T) {
	srv := redisproc.Start(t, redisproc.Options{AOF: true})
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	l, ctx := newBatchedLedger(t, rdb, LedgerOptions{})
	const page = "100"
	tg := Target{Kind: KindComment, ID: "c1"}
	if r, err := l.Reserve(ctx, page, tg, "tok", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", r, err)
	}
	srv.Stop()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := l.MarkSent(cctx, page, tg, "m"); err == nil {
				t.Error("MarkSent succeeded with Redis down")
			}
			if _, err := l.Reserve(cctx, page, Target{Kind: KindComment, ID: fmt.Sprint("x", i)}, "tok", time.Minute, Limit{}); err == nil {
				t.Error("Reserve succeeded with Redis down")
			}
		}()
	}
	wg.Wait()
	srv.Restart()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := l.MarkSent(ctx, page, tg, "m_1")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MarkSent still failing 30s after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// AOF kept the claim across the restart; the mark replaced it.
	if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusSent || e.MessageID != "m_1" {
		t.Fatalf("after Redis came back: %+v %v", e, err)
	}
}

// Concurrent reservations of one Page are merged into one script call and
// still book distinct send slots one interval apart.
func TestReserveMergedKeepsRate(t *testing.T) {
	db := redistest.New(t)
	l, ctx := newBatchedLedger(t, db.Client, LedgerOptions{})
	const page = "100"
	lim := Limit{Interval: 10 * time.Millisecond, Burst: 1, MaxWait: 150 * time.Millisecond}
	var mu sync.Mutex
	var waits []time.Duration
	limited := 0
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: fmt.Sprint("c", i)}, NewToken(), time.Minute, lim)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case r.Outcome == ReserveGo:
				waits = append(waits, r.Wait)
			case r.Outcome == ReserveLimited:
				limited++
			default:
				t.Errorf("reserve: %+v", r)
			}
		}()
	}
	wg.Wait()
	// 150ms ahead at 10ms apart with burst 1: about 17 booked, the rest limited.
	if len(waits) < 12 || len(waits) > 18 || len(waits)+limited != 40 {
		t.Fatalf("booked %d, limited %d; want about 17 booked", len(waits), limited)
	}
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	// Each booking moves the Page's next slot on by one interval; seen from
	// calls made a little later the waits come closer, never further apart.
	for i := 2; i < len(waits); i++ {
		if gap := waits[i] - waits[i-1]; gap > lim.Interval+time.Millisecond {
			t.Fatalf("slots %v: gap %v larger than the interval", waits, gap)
		}
	}
	if waits[len(waits)-1] < time.Duration(len(waits)-3)*lim.Interval/2 {
		t.Fatalf("slots %v: %d bookings did not move the Page's next slot on", waits, len(waits))
	}
	last := waits[len(waits)-1]
	if last > lim.MaxWait {
		t.Fatalf("booked a slot %v ahead, beyond MaxWait %v", last, lim.MaxWait)
	}
}

// plan merges the reservations of one Page (same merge key) and leaves other
// calls alone.
func TestPlanMerges(t *testing.T) {
	mk := func(page, target string) *batchOp {
		return &batchOp{script: reserveScript, merge: page, sharedKeys: 3, sharedArgs: 3,
			keys: []string{page + ":pause", page + ":rate", page + ":back", page + ":" + target},
			args: []any{1, 2, 3, "tok" + target, 4, 5}}
	}
	other := &batchOp{script: markScript, keys: []string{"k"}, args: []any{"v"}}
	calls := plan([]*batchOp{mk("a", "1"), other, mk("b", "1"), mk("a", "2"), mk("a", "3")})
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3 (a merged, other, b)", len(calls))
	}
	a := calls[0]
	if !a.merged || len(a.ops) != 3 || len(a.keys) != 6 || len(a.args) != 12 {
		t.Fatalf("merged call = %d ops, keys %v, args %v", len(a.ops), a.keys, a.args)
	}
	if a.keys[3] != "a:1" || a.keys[5] != "a:3" || a.args[3] != "tok1" || a.args[9] != "tok3" {
		t.Fatalf("merged call out of order: keys %v args %v", a.keys, a.args)
	}
	if calls[1].merged || calls[1].ops[0] != other {
		t.Fatalf("unmergeable call changed: %+v", calls[1])
	}
}

// Reservations of one Page under different limits (a rate changed while
// replies of the old one are in flight) are not merged: each is decided by
// its own limit, in one batch.
func TestReserveMergesOnlyOneLimit(t *testing.T) {
	slow := Limit{Interval: time.Hour}
	// The slow limit's next slot is an hour away; no limit has none.
	reserveTwoLimitsInOneBatch(t, slow, map[string]Limit{"slow": slow, "free": {}}, map[string]ReserveOutcome{"slow": ReserveLimited, "free": ReserveGo})
}

// reserveTwoLimitsInOneBatch books a Page's next slot under first, without
// the batcher, then reserves a target per limit of lims in one batch (two
// calls in one pipeline), each of which must have its outcome in want.
func reserveTwoLimitsInOneBatch(t *testing.T, first Limit, lims map[string]Limit, want map[string]ReserveOutcome) {
	t.Helper()
	db := redistest.New(t)
	l, ctx := newBatchedLedger(t, db.Client, LedgerOptions{Linger: time.Hour, FlushAt: 2})
	const page = "100"
	// Booked without the batcher, whose linger would hold a lone call.
	if r, err := NewLedger(db.Client, LedgerOptions{}).Reserve(ctx, page, Target{Kind: KindComment, ID: "first"}, "tok", time.Minute, first); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("first reserve: %+v %v", r, err)
	}
	var wg sync.WaitGroup
	for id, lim := range lims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: id}, "tok", time.Minute, lim)
			if err != nil || r.Outcome != want[id] {
				t.Errorf("reserve %s in a batch with the other's limit: %+v %v, want outcome %d", id, r, err, want[id])
			}
		}()
	}
	wg.Wait()
	if st := l.BatchStats(); st.Pipelines != 1 || st.Calls != 2 {
		t.Fatalf("batch stats %+v, want the two calls in one pipeline", st)
	}
}
