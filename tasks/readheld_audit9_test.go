package tasks

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestTakeReadHeld_audit9: a caller whose slot is too far books it all the
// same and holds it: another reader books the slot after it, the caller's
// next calls find the same slot (never a second booking), and take it once
// it is in reach; the hold is gone then.
func TestTakeReadHeld_audit9(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	lim := Limit{Interval: 10 * time.Second}
	if w, err := l.TakeReadKey(ctx, page, "reads:conversations", lim); err != nil || w != 0 {
		t.Fatalf("first read: %v %v, want now", w, err)
	}
	for i := range 2 {
		w, err := l.TakeReadHeld(ctx, page, "reads:conversations", "message:m1", lim, 2*time.Second, time.Second)
		if !errors.Is(err, ErrReadLater) || w < 9*time.Second || w > 10*time.Second {
			t.Fatalf("held read %d, its slot 10s on: %v %v, want ErrReadLater and about 10s", i, w, err)
		}
	}
	// The poll's next slot is after the held one, not it.
	if w, err := l.TakeReadKey(ctx, page, "reads:conversations", lim); err != nil || w < 19*time.Second {
		t.Fatalf("a read after the held slot: %v %v, want about 20s", w, err)
	}
	// In reach (within 11s): the held slot, at about 10s, not a new one.
	w, err := l.TakeReadHeld(ctx, page, "reads:conversations", "message:m1", lim, 11*time.Second, time.Second)
	if err != nil || w > 10*time.Second {
		t.Fatalf("held read in reach: %v %v, want its slot, about 10s", w, err)
	}
	if n := l.rdb.Exists(ctx, l.pageKey(page, "reads:conversations:held:message:m1")).Val(); n != 0 {
		t.Fatal("the hold is still there after its slot was taken")
	}
	// Taken once: the next call books after the poll's slot.
	if w, err := l.TakeReadHeld(ctx, page, "reads:conversations", "message:m1", lim, 2*time.Second, time.Second); !errors.Is(err, ErrReadLater) || w < 29*time.Second {
		t.Fatalf("held read after its slot was taken: %v %v, want a new slot, about 30s", w, err)
	}
}

// TestTakeReadHeldMissed_audit9: a holder back later than late after its
// slot does not take it (that slot went unused): it books another, and the
// schedule never reads faster than its interval.
func TestTakeReadHeldMissed_audit9(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	lim := Limit{Interval: 500 * time.Millisecond}
	if _, err := l.TakeReadKey(ctx, page, "reads:conversations", lim); err != nil {
		t.Fatal(err)
	}
	if _, err := l.TakeReadHeld(ctx, page, "reads:conversations", "message:m2", lim, time.Microsecond, 0); !errors.Is(err, ErrReadLater) {
		t.Fatalf("held read with the slot 500ms on: %v, want ErrReadLater", err)
	}
	time.Sleep(700 * time.Millisecond) // past the held slot (at 500ms)
	// Booked anew: the schedule's next free slot (at 1s, or now on a slow
	// machine), not the missed one.
	key := l.pageKey(page, "reads:conversations")
	before, _ := l.rdb.Get(ctx, key).Int64()
	if w, err := l.TakeReadHeld(ctx, page, "reads:conversations", "message:m2", lim, 2*time.Second, 0); err != nil || w > 500*time.Millisecond {
		t.Fatalf("held read back after its slot: %v %v, want the next free slot", w, err)
	}
	if after, _ := l.rdb.Get(ctx, key).Int64(); after <= before {
		t.Fatalf("held read back after its slot took the missed one: the schedule stayed at %d", before)
	}
	// Paused: no read, whatever is held.
	if _, err := l.Pause(ctx, page, time.Minute, "throttled"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.TakeReadHeld(ctx, page, "reads:conversations", "message:m2", lim, 2*time.Second, 0); !errors.Is(err, ErrPaused) {
		t.Fatalf("held read of a paused Page: %v, want ErrPaused", err)
	}
}
