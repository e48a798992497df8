package tasks

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestPersonGapReadsPreviousFormat_audit13: during a rolling update the
// person's booking may be the previous version's "<ms>|<target>" (no gap):
// its holder books again at once, another reply of the person waits for it.
func TestPersonGapReadsPreviousFormat_audit13(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	next := time.Now().Add(30 * time.Minute).UnixMilli()
	held := Target{Kind: KindComment, ID: "123_456"}
	if err := l.rdb.Set(ctx, l.pageKey("100", "pg:7501"), strconv.FormatInt(next, 10)+"|"+held.String(), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if w, err := l.PersonGap(ctx, "100", "7501", held, 0, 10*time.Minute); err != nil || w != 0 {
		t.Fatalf("holder of the previous version's booking: wait %s %v, want booked at once", w, err)
	}
	if w, err := l.PersonGap(ctx, "100", "7501", Target{Kind: KindComment, ID: "123_789"}, 0, 10*time.Minute); err != nil || w <= 0 || w > 10*time.Minute {
		t.Fatalf("another reply to the person: wait %s %v, want held for the new booking's gap", w, err)
	}
}
