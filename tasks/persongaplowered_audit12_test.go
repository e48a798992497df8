package tasks

import (
	"context"
	"testing"
	"time"
)

// TestPersonGapLoweredTakesEffect_audit12: an operator lowers a Page's
// person_gap (set to 6h where 6m was meant) and restarts: a person booked
// under the old gap may get their next reply the new gap after their last
// one, not the old gap after it. Seen failing before the fix: the booking
// kept the old gap's end, and the person's waiting replies, woken by the
// start, were put back for hours again.
func TestPersonGapLoweredTakesEffect_audit12(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	if w, err := l.PersonGap(ctx, "100", "7409", Target{Kind: KindComment, ID: "c1"}, 0, 6*time.Hour); err != nil || w != 0 {
		t.Fatalf("first reply: wait %s %v, want booked", w, err)
	}
	w, err := l.PersonGap(ctx, "100", "7409", Target{Kind: KindComment, ID: "c2"}, 0, 6*time.Minute)
	if err != nil || w <= 0 || w > 6*time.Minute {
		t.Fatalf("second reply under the lowered gap: wait %s %v, want at most the new gap of 6m", w, err)
	}
	// A gap raised since keeps the booking as it is (the person's last
	// reply went out under the old one), and books the next a new gap on.
	if w, err := l.PersonGap(ctx, "100", "7410", Target{Kind: KindComment, ID: "c3"}, 0, time.Minute); err != nil || w != 0 {
		t.Fatalf("another person's first reply: wait %s %v, want booked", w, err)
	}
	if w, err := l.PersonGap(ctx, "100", "7410", Target{Kind: KindComment, ID: "c4"}, 0, time.Hour); err != nil || w <= 0 || w > time.Minute {
		t.Fatalf("second reply under a raised gap: wait %s %v, want what is left of the old gap (at most 1m)", w, err)
	}
}
