package tasks

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTakeRead(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	// Long enough that the calls' own time (milliseconds on a busy machine)
	// cannot blur the schedule.
	lim := Limit{Interval: 10 * time.Second, Burst: 1}
	var waits []time.Duration
	for range 4 {
		w, err := l.TakeRead(ctx, page, lim)
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, w)
	}
	// Burst 1: two go at once, then one per interval.
	if waits[0] != 0 || waits[1] != 0 || waits[2] < 9*time.Second || waits[2] > 10*time.Second || waits[3] < 19*time.Second || waits[3] > 20*time.Second {
		t.Fatalf("waits %v: want 0, 0, ~10s, ~20s", waits)
	}
	// Reads do not touch the sends' schedule.
	if n, _ := l.rdb.Exists(ctx, l.pageKey(page, "rate")).Result(); n != 0 {
		t.Fatal("TakeRead wrote the send rate key")
	}
	if _, err := l.Pause(ctx, page, time.Minute, "throttled: test"); err != nil {
		t.Fatal(err)
	}
	_, err := l.TakeRead(ctx, page, lim)
	var pe *PausedError
	if !errors.Is(err, ErrPaused) || !errors.As(err, &pe) || pe.Reason != "throttled: test" || pe.For < 50*time.Second {
		t.Fatalf("TakeRead on a paused page = %v, want PausedError", err)
	}
	if w, err := l.TakeRead(ctx, "200", Limit{}); err != nil || w != 0 {
		t.Fatalf("unlimited TakeRead = %v, %v", w, err)
	}
}

// TestTakeReadWithin: a read slot further away than the caller may wait is
// not booked; the wait to it comes back with ErrReadLater.
func TestTakeReadWithin(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	lim := Limit{Interval: time.Second}
	start := time.Now()
	if w, err := l.TakeReadWithin(ctx, page, "reads", lim, 500*time.Millisecond); err != nil || w != 0 {
		t.Fatalf("first read: %v %v, want now", w, err)
	}
	for range 3 {
		// The slot is a second after the first read: as near as the time
		// gone since then allows (a loaded machine), never nearer.
		w, err := l.TakeReadWithin(ctx, page, "reads", lim, 500*time.Millisecond)
		if low := time.Second - time.Since(start) - 5*time.Millisecond; !errors.Is(err, ErrReadLater) || w < low || w > time.Second {
			t.Fatalf("read due in a second, within 500ms: %v %v, want ErrReadLater and ~1s (at least %v)", w, err, low)
		}
	}
	// The refused reads booked nothing: the next slot is still a second off.
	if w, err := l.TakeRead(ctx, page, lim); err != nil || w > time.Second {
		t.Fatalf("read after refusals: %v %v, want within a second", w, err)
	}
}
