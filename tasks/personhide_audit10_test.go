package tasks

import (
	"context"
	"testing"
	"time"
)

// TestPersonHeldWhileHiddenClaimLeaseRuns_audit10: on a Page that sends one
// reply per person, a hide mark that took the place of the claim of an
// attempt sending to the person's comment keeps that claim's lease
// (hideScript): the attempt may be past its last gate, its send on its way,
// and Graph answers a private reply to a hidden comment. Until that lease
// ends the person's other comment is busy, as it was while the claim stood;
// it was claimed at once (the mark read as a failure, which holds no one),
// and its reply went out beside the first. Once the lease has run out the
// mark holds no one (a reply that landed is recorded then; one that did not
// must not hold the person for the window).
func TestPersonHeldWhileHiddenClaimLeaseRuns_audit10(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	who := Person{ID: "555", Commenter: true}
	first, second := Target{Kind: KindComment, ID: "1_10"}, Target{Kind: KindComment, ID: "1_11"}
	if r, err := l.Reserve(ctx, page, first, "a", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve %s: %+v %v", first, r, err)
	}
	if pc, err := l.PersonClaim(ctx, page, who, first, "a", time.Time{}, time.Hour); err != nil || pc.Outcome != PersonClaimed {
		t.Fatalf("person claim for %s: %+v %v", first, pc, err)
	}
	// The attempt is sending; the Page hides the comment meanwhile.
	if ok, err := l.MarkHidden(ctx, page, first.ID, time.Time{}); err != nil || !ok {
		t.Fatalf("hide %s: %v %v", first, ok, err)
	}
	if r, err := l.Reserve(ctx, page, second, "b", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve %s: %+v %v", second, r, err)
	}
	if pc, err := l.PersonClaim(ctx, page, who, second, "b", time.Time{}, time.Hour); err != nil || pc.Outcome != PersonBusy {
		t.Fatalf("person claim for %s while the hidden comment's send may be on its way: %+v %v; want busy", second, pc, err)
	}
	// The lease over (the mark as a lapsed claim's would read), and the
	// attempt recorded nothing: the person is free.
	if err := l.rdb.Set(ctx, l.entryKey(page, first), "f|1|2|"+HiddenReason, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if pc, err := l.PersonClaim(ctx, page, who, second, "b", time.Time{}, time.Hour); err != nil || pc.Outcome != PersonClaimed {
		t.Fatalf("person claim for %s after the lease: %+v %v; want claimed", second, pc, err)
	}
}
