package tasks

import (
	"context"
	"regexp"
	"testing"
	"time"
)

// TestRemoveAfterHide_audit12: a comment the Page hid and that was then
// removed reads as removed, not hidden: the remove takes the hide mark's
// place (keeping the lease of a claim the hide had taken, as a remove of the
// claim itself does), so the worker counts its reply gone, GET /v1/replies
// says "comment removed", and an unhide delivered late (Meta's redelivery
// of an unhide newer than the hide, after the remove) leaves the mark: it
// dropped it before, and the reply went to Graph for a comment that is no
// more (refused for good, archived and counted as failed), or GET said the
// next poll would queue it.
func TestRemoveAfterHide_audit12(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	at := func(s int64) time.Time { return time.Unix(1767000000+s, 0) }
	free, claimed := Target{Kind: KindComment, ID: "1_1"}, Target{Kind: KindComment, ID: "1_2"}
	if r, err := l.Reserve(ctx, page, claimed, "dead", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", r, err)
	}
	for _, tg := range []Target{free, claimed} {
		if ok, err := l.MarkHidden(ctx, page, tg.ID, at(10)); err != nil || !ok {
			t.Fatalf("hide %s: %v %v", tg, ok, err)
		}
		if ok, err := l.MarkRemoved(ctx, page, tg); err != nil || !ok {
			t.Fatalf("remove %s after its hide: %v %v; want marked", tg, ok, err)
		}
		if ok, err := l.MarkRemoved(ctx, page, tg); err != nil || ok {
			t.Fatalf("remove %s again: %v %v; want nothing done", tg, ok, err)
		}
		if ok, err := l.UnmarkHidden(ctx, page, tg.ID, at(20)); err != nil || ok {
			t.Fatalf("late unhide of removed %s: %v %v; want nothing done", tg, ok, err)
		}
		if ok, err := l.MarkHidden(ctx, page, tg.ID, at(30)); err != nil || ok {
			t.Fatalf("hide of removed %s: %v %v; want nothing done", tg, ok, err)
		}
		if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusFailed || e.Reason != RemovedReason {
			t.Errorf("%s hidden, removed, then unhidden late: %+v %v; want failed, %q", tg, e, err, RemovedReason)
		}
		if r, err := l.Reserve(ctx, page, tg, "next", time.Minute, Limit{}); err != nil || r.Outcome != ReserveDone || r.Entry.Reason != RemovedReason {
			t.Errorf("%s reserved: %+v %v; want done, removed", tg, r, err)
		}
	}
	// The claim's lease is kept before the reason: the person's other
	// comments wait for it as they waited for the claim.
	v, err := l.rdb.Get(ctx, l.entryKey(page, claimed)).Result()
	if err != nil || !regexp.MustCompile(`^f\|\d+\|[1-9]\d*\|`+regexp.QuoteMeta(RemovedReason)+`$`).MatchString(v) {
		t.Errorf("removed claim's entry %q %v; want the claim's lease kept", v, err)
	}
	// A reason that only ends like the hide mark's is another failure's:
	// left alone.
	other := Target{Kind: KindComment, ID: "1_3"}
	if err := l.MarkFailed(ctx, page, other, "x "+HiddenReason); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.MarkRemoved(ctx, page, other); err != nil || ok {
		t.Fatalf("remove of a failed target: %v %v; want nothing done", ok, err)
	}
}
