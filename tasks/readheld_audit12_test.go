package tasks

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestTakeReadHeldAhead_audit12: holders booking slot after slot (one per
// conversation asked for) each held one, pushing the schedule's next free
// slot back by one interval each; with ahead, a slot further than it is
// neither booked nor held (its wait told), and the next free slot stays
// within ahead plus an interval.
func TestTakeReadHeldAhead_audit12(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	lim := Limit{Interval: 10 * time.Second}
	if w, err := l.TakeReadKey(ctx, page, "reads:conversations", lim); err != nil || w != 0 {
		t.Fatalf("first read: %v %v, want now", w, err)
	}
	for i, id := range []string{"c1", "c2", "c3", "c4", "c5"} {
		w, err := l.TakeReadHeldAhead(ctx, page, "reads:conversations", "api:"+id, lim, 2*time.Second, time.Second, 20*time.Second)
		if !errors.Is(err, ErrReadLater) {
			t.Fatalf("holder %d: %v %v, want ErrReadLater", i, w, err)
		}
		if i >= 2 && (w < 29*time.Second || w > 30*time.Second) {
			t.Errorf("holder %d past ahead: told %v, want the next free slot, about 30s", i, w)
		}
	}
	// The next free slot: after the two held ones only.
	if w, err := l.TakeReadKey(ctx, page, "reads:conversations", lim); err != nil || w > 30*time.Second {
		t.Fatalf("a read after the holders: %v %v, want about 30s (two held slots)", w, err)
	}
	// A holder refused past ahead holds nothing.
	if n, err := l.rdb.Exists(ctx, l.pageKey(page, "reads:conversations:held:api:c3")).Result(); err != nil || n != 0 {
		t.Errorf("holder refused past ahead holds a slot: %d %v", n, err)
	}
}
