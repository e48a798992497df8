package tasks

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestTakeReadScheduleKeptUntilItsSlots: the read schedule's key lives until
// the last slot it booked, so reads booked far ahead still space the next
// one: were it to expire sooner, the next read would be given a slot at once
// and the Page's reads would go faster than its rate.
func TestTakeReadScheduleKeptUntilItsSlots(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	lim := Limit{Interval: 3 * time.Second}
	for i, want := range []time.Duration{0, 3 * time.Second} {
		w, err := l.TakeRead(ctx, page, lim)
		if err != nil || w > want || w < want-time.Second {
			t.Fatalf("read %d: %v %v, want about %s", i, w, err, want)
		}
	}
	// Booked up to 6 s from now.
	if ttl := l.rdb.PTTL(ctx, l.pageKey(page, "reads")).Val(); ttl < 5*time.Second {
		t.Fatalf("the read schedule expires in %s, before its booked slots (about 6s)", ttl)
	}
	time.Sleep(1500 * time.Millisecond)
	if w, err := l.TakeRead(ctx, page, lim); err != nil || w < 3*time.Second {
		t.Fatalf("read 1.5s later: %v %v, want a wait of about 4.5s (two slots booked ahead)", w, err)
	}
}

// TestTakeReadWithinNoWait: a caller that may not wait at all (within 0)
// gets a slot that is free now, and ErrReadLater, booking nothing, when the
// next one is later: 0 is not "any wait".
func TestTakeReadWithinNoWait(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	lim := Limit{Interval: 10 * time.Second}
	if w, err := l.TakeReadWithin(ctx, page, "reads", lim, 0); err != nil || w != 0 {
		t.Fatalf("first read, no wait allowed: %v %v, want now", w, err)
	}
	for range 2 {
		if w, err := l.TakeReadWithin(ctx, page, "reads", lim, 0); !errors.Is(err, ErrReadLater) || w < 9*time.Second {
			t.Fatalf("read due in 10s, no wait allowed: %v %v, want ErrReadLater and ~10s", w, err)
		}
	}
	if w, err := l.TakeRead(ctx, page, lim); err != nil || w > 10*time.Second {
		t.Fatalf("read after refusals: %v %v, want the slot 10s on, not later", w, err)
	}
}

// TestTakeReadKeySchedulesApart: a named schedule (the conversations' one)
// is apart from the Page's reads: reads booked far ahead on one do not put
// off the other's.
func TestTakeReadKeySchedulesApart(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	lim := Limit{Interval: 10 * time.Second}
	for range 3 {
		if _, err := l.TakeReadKey(ctx, page, "reads:conversations", lim); err != nil {
			t.Fatal(err)
		}
	}
	if w, err := l.TakeRead(ctx, page, lim); err != nil || w != 0 {
		t.Fatalf("a Page read after three conversation reads: %v %v, want now", w, err)
	}
	if w, err := l.TakeReadKey(ctx, page, "reads:conversations", lim); err != nil || w < 29*time.Second {
		t.Fatalf("a fourth conversation read: %v %v, want about 30s", w, err)
	}
}
