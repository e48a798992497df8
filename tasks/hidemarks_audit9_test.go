package tasks

import (
	"context"
	"testing"
	"time"
)

// TestUnhideOfClaimLeavesDoubt_audit9: a hide mark that took a worker's
// claim's place keeps the claim's lease, reads as the hidden failure, and
// an unhide turns it into a doubt that settles until that lease ends (the
// worker may still be sending until then), after which the next attempt is
// doubtful: it asks Graph before it sends. A mark of a target the ledger did
// not have is dropped by an unhide, as before.
func TestUnhideOfClaimLeavesDoubt_audit9(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	claimed, free := Target{Kind: KindComment, ID: "1_2"}, Target{Kind: KindComment, ID: "1_3"}
	if r, err := l.Reserve(ctx, page, claimed, "dead", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", r, err)
	}
	for _, tg := range []Target{claimed, free} {
		if ok, err := l.MarkHidden(ctx, page, tg.ID, time.Time{}); err != nil || !ok {
			t.Fatalf("hide %s: %v %v", tg, ok, err)
		}
		if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusFailed || e.Reason != HiddenReason {
			t.Fatalf("%s after the hide: %+v %v", tg, e, err)
		}
		if r, err := l.Reserve(ctx, page, tg, "next", time.Minute, Limit{}); err != nil || r.Outcome != ReserveDone || r.Entry.Reason != HiddenReason {
			t.Fatalf("%s reserved on the mark: %+v %v", tg, r, err)
		}
		if ok, err := l.UnmarkHidden(ctx, page, tg.ID, time.Time{}); err != nil || !ok {
			t.Fatalf("unhide %s: %v %v", tg, ok, err)
		}
	}
	if e, err := l.Get(ctx, page, free); err != nil || e.Status != StatusNone {
		t.Errorf("unhidden target that had no claim: %+v %v; want none", e, err)
	}
	e, err := l.Get(ctx, page, claimed)
	if err != nil || e.Status != StatusUnknown {
		t.Fatalf("unhidden target whose claim the mark took: %+v %v; want unknown", e, err)
	}
	r, err := l.Reserve(ctx, page, claimed, "next", time.Minute, Limit{})
	if err != nil || r.Outcome != ReserveSettling || r.Wait <= 0 || r.Wait > time.Minute {
		t.Fatalf("reserve within the dead claim's lease: %+v %v; want settling until it ends", r, err)
	}
	// The lease run out: the doubt stays, and the next attempt checks.
	if err := l.rdb.Set(ctx, l.entryKey(page, claimed), "f|1|2|"+HiddenReason, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.UnmarkHidden(ctx, page, claimed.ID, time.Time{}); err != nil || !ok {
		t.Fatalf("unhide: %v %v", ok, err)
	}
	if r, err := l.Reserve(ctx, page, claimed, "next", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo || !r.Doubtful {
		t.Fatalf("reserve after the lease: %+v %v; want go, doubtful", r, err)
	}
}

// TestRemoveOfClaimReadsRemoved_audit9: a remove mark that took a worker's
// claim's place keeps the claim's lease (hideScript) and still reads as the
// removed comment, so the worker completes the task as gone instead of
// archiving it as an earlier failure; no unhide undoes it.
func TestRemoveOfClaimReadsRemoved_audit9(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	claimed := Target{Kind: KindComment, ID: "1_4"}
	if r, err := l.Reserve(ctx, page, claimed, "dead", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", r, err)
	}
	if ok, err := l.MarkRemoved(ctx, page, claimed); err != nil || !ok {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if e, err := l.Get(ctx, page, claimed); err != nil || e.Status != StatusFailed || e.Reason != RemovedReason {
		t.Fatalf("after the remove: %+v %v; want failed, %q", e, err, RemovedReason)
	}
	if r, err := l.Reserve(ctx, page, claimed, "next", time.Minute, Limit{}); err != nil || r.Outcome != ReserveDone || r.Entry.Reason != RemovedReason {
		t.Fatalf("reserved on the mark: %+v %v", r, err)
	}
	if ok, err := l.UnmarkHidden(ctx, page, claimed.ID, time.Time{}); err != nil || ok {
		t.Fatalf("unhide of a removed comment: %v %v; want nothing done", ok, err)
	}
}

// TestPostRemovedMark_audit9: a visitor's post removed (the webhook's
// remove of item post or status) is marked post:<id> with PostRemovedReason,
// by the ledger and by the replica guard (here with no replica connected,
// so it does not wait): a post the ledger did not have, and one a worker
// held claimed (its lease kept before the reason, which still reads as the
// removal), then reserve as done; a post whose reply was sent is left
// alone; a conversation is never marked removed.
func TestPostRemovedMark_audit9(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	g := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1, Timeout: time.Second})
	const page = "100"
	for name, mark := range map[string]func(context.Context, string, Target) (bool, error){
		"ledger": l.MarkRemoved, "guard": g.MarkRemoved,
	} {
		fresh, claimed, sent := Target{Kind: KindPost, ID: page + "_1" + name}, Target{Kind: KindPost, ID: page + "_2" + name}, Target{Kind: KindPost, ID: page + "_3" + name}
		for _, tg := range []Target{claimed, sent} {
			if r, err := l.Reserve(ctx, page, tg, "dead", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
				t.Fatalf("%s: reserve %s: %+v %v", name, tg, r, err)
			}
		}
		if err := l.MarkSent(ctx, page, sent, "m_1"); err != nil {
			t.Fatal(err)
		}
		for _, tg := range []Target{fresh, claimed} {
			if ok, err := mark(ctx, page, tg); err != nil || !ok {
				t.Fatalf("%s: remove %s: %v %v", name, tg, ok, err)
			}
			if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusFailed || e.Reason != PostRemovedReason {
				t.Fatalf("%s: %s after the remove: %+v %v; want failed, %q", name, tg, e, err, PostRemovedReason)
			}
			if r, err := l.Reserve(ctx, page, tg, "next", time.Minute, Limit{}); err != nil || r.Outcome != ReserveDone || r.Entry.Reason != PostRemovedReason {
				t.Fatalf("%s: reserved %s on the mark: %+v %v", name, tg, r, err)
			}
		}
		if ok, err := mark(ctx, page, sent); err != nil || ok {
			t.Fatalf("%s: remove of a sent post: %v %v; want left as it was", name, ok, err)
		}
		if e, err := l.Get(ctx, page, sent); err != nil || e.Status != StatusSent {
			t.Fatalf("%s: sent post after the remove: %+v %v", name, e, err)
		}
		if ok, err := mark(ctx, page, Target{Kind: KindMessage, ID: "t_1"}); err == nil || ok {
			t.Fatalf("%s: remove of a conversation: %v %v; want an error", name, ok, err)
		}
	}
}
