package tasks

import (
	"context"
	"testing"
	"time"
)

// TestMarkUnknownKeepsLongerSettle: a target in doubt after a send whose
// answer was lost keeps its settle time when it is marked unknown again
// with a shorter one (or none: a stale attempt of the target, whose claim
// another attempt took, giving it back): the next attempt must not check
// before that send could have landed. A longer settle time replaces it, and
// one that has passed holds nothing back.
func TestMarkUnknownKeepsLongerSettle(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	page := "100"
	m1, _, _ := messageTargets()
	key := l.entryKey(page, m1)
	get := func() string {
		t.Helper()
		v, err := l.rdb.Get(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	reserve := func(want ReserveOutcome) {
		t.Helper()
		res, err := l.Reserve(ctx, page, m1, NewToken(), time.Minute, Limit{})
		if err != nil || res.Outcome != want {
			t.Fatalf("reserve: %+v %v, want outcome %d", res, err, want)
		}
	}
	if err := l.MarkUnknown(ctx, page, m1, time.Minute); err != nil {
		t.Fatal(err)
	}
	live := get()
	for _, settle := range []time.Duration{0, time.Second} {
		if err := l.MarkUnknown(ctx, page, m1, settle); err != nil {
			t.Fatal(err)
		}
		if v := get(); v != live {
			t.Fatalf("marked unknown with settle %s: entry %q, want the longer doubt %q kept", settle, v, live)
		}
	}
	reserve(ReserveSettling)
	if err := l.MarkUnknown(ctx, page, m1, time.Hour); err != nil {
		t.Fatal(err)
	}
	if v := get(); v == live {
		t.Fatal("a longer settle time did not replace the shorter one")
	}
	// A settle time that has passed holds nothing back.
	if err := l.rdb.Set(ctx, key, "u|1000|2000", time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkUnknown(ctx, page, m1, 0); err != nil {
		t.Fatal(err)
	}
	if v := get(); v == "u|1000|2000" {
		t.Fatal("a doubt whose settle time has passed was kept")
	}
	reserve(ReserveGo)
}

// TestGiveBackUnknownOnlyOwnClaim: an attempt handing its doubtful target
// back marks it unknown while the claim is its own (or the entry holds no
// claim), and leaves a claim another attempt holds: that attempt (its own
// claim taken after this one's lapsed) checked Graph and may be sending,
// and marked unknown under it, it would find its target lost at its send's
// last gate and go back to the queue for nothing.
func TestGiveBackUnknownOnlyOwnClaim(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	page := "100"
	m1, m2, _ := messageTargets()
	get := func(tg Target) string {
		t.Helper()
		v, err := l.rdb.Get(ctx, l.entryKey(page, tg)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	giveBack := func(tg Target, token string) {
		t.Helper()
		if err := l.GiveBackUnknown(ctx, page, tg, token); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := l.Reserve(ctx, page, m1, "live", time.Minute, Limit{}); err != nil || res.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	held := get(m1)
	for _, stale := range []string{"stale", "liv", "live|x"} {
		giveBack(m1, stale)
		if v := get(m1); v != held {
			t.Fatalf("given back by %q: entry %q, want the live attempt's claim %q", stale, v, held)
		}
	}
	giveBack(m1, "live")
	if v := get(m1); v[:2] != "u|" {
		t.Fatalf("given back by its own attempt: entry %q, want unknown", v)
	}
	// No entry (none to hand back; the doubt is recorded all the same).
	giveBack(m2, "gone")
	if v := get(m2); v[:2] != "u|" {
		t.Fatalf("given back with no entry: %q, want unknown", v)
	}
}
