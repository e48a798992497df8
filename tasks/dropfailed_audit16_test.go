package tasks

import (
	"context"
	"testing"
	"time"
)

// TestDropFailedOnlyThatReason_audit16: DropFailed deletes an entry failed
// for good with exactly the reason given, and keeps every other entry: a
// failure of another reason, a hide mark, a sent reply, a claim.
func TestDropFailedOnlyThatReason_audit16(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	const reason = "reply c:1_1: graph: messages: (#10) Cannot message users who are not admins, developers or testers of the app [code 10/2018028, http 403, class permanent]"
	failed, other, hidden, sent, claimed := Target{Kind: KindComment, ID: "1_1"}, Target{Kind: KindComment, ID: "1_2"},
		Target{Kind: KindComment, ID: "1_3"}, Target{Kind: KindComment, ID: "1_4"}, Target{Kind: KindComment, ID: "1_5"}
	if err := l.MarkFailed(ctx, page, failed, reason); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkFailed(ctx, page, other, "x"+reason); err != nil {
		t.Fatal(err)
	}
	if _, err := l.MarkHidden(ctx, page, hidden.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkSent(ctx, page, sent, "m1"); err != nil {
		t.Fatal(err)
	}
	if r, err := l.Reserve(ctx, page, claimed, "tok", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", r, err)
	}
	if e, err := l.Get(ctx, page, failed); err != nil || e.Reason != reason {
		t.Fatalf("failed entry %+v %v: reason not kept whole", e, err)
	}
	for _, tg := range []Target{other, hidden, sent, claimed} {
		before, _ := l.Get(ctx, page, tg)
		if ok, err := l.DropFailed(ctx, page, tg, reason); err != nil || ok {
			t.Errorf("%s: dropped %v %v", tg, ok, err)
		}
		if e, err := l.Get(ctx, page, tg); err != nil || e.Status != before.Status {
			t.Errorf("%s: %+v %v after DropFailed, was %+v", tg, e, err, before)
		}
	}
	if ok, err := l.DropFailed(ctx, page, failed, reason); err != nil || !ok {
		t.Fatalf("drop: %v %v", ok, err)
	}
	if e, err := l.Get(ctx, page, failed); err != nil || e.Status != StatusNone {
		t.Errorf("after the drop: %+v %v, want none", e, err)
	}
}
