package tasks

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
)

// TestEnqueueOnStaleHideMark_audit13: EnqueueOn and EnqueueManyOn of a
// Page without skip_hidden drop a hide mark (written while it had
// skip_hidden) and queue the reply; one that had taken a claim's place
// leaves the doubt, and the reply is queued to settle it. A Page with
// skip_hidden, Enqueue (no Page), a removal mark and a post keep their
// mark, as before.
func TestEnqueueOnStaleHideMark_audit13(t *testing.T) {
	ctx := context.Background()
	e, _ := inspectingEnqueuer(t)
	l := e.Ledger
	off, on := &config.Page{ID: "100"}, &config.Page{ID: "100", SkipHidden: true}
	reply := func(id string) Reply {
		return Reply{PageID: "100", Target: Target{Kind: KindComment, ID: id}, Text: "hi", Source: SourceAPI}
	}
	hide := func(id string) {
		t.Helper()
		if ok, err := l.MarkHidden(ctx, "100", id, time.Time{}); err != nil || !ok {
			t.Fatalf("hide %s: %v %v", id, ok, err)
		}
	}
	entry := func(id string) Entry {
		t.Helper()
		en, err := l.Get(ctx, "100", Target{Kind: KindComment, ID: id})
		if err != nil {
			t.Fatal(err)
		}
		return en
	}

	hide("1_1")
	if o, _, err := e.Enqueue(ctx, reply("1_1")); err != nil || o != AlreadyFailed {
		t.Errorf("Enqueue on a hide mark: %v %v; want failed", o, err)
	}
	if o, _, err := e.EnqueueOn(ctx, on, reply("1_1")); err != nil || o != AlreadyFailed || entry("1_1").Reason != HiddenReason {
		t.Errorf("EnqueueOn, skip_hidden on: %v %v, entry %+v; want failed, the mark kept", o, err, entry("1_1"))
	}
	if o, _, err := e.EnqueueOn(ctx, off, reply("1_1")); err != nil || o != Enqueued || entry("1_1").Status != StatusNone {
		t.Errorf("EnqueueOn, skip_hidden off: %v %v, entry %+v; want enqueued, the mark dropped", o, err, entry("1_1"))
	}

	// A mark that took a claim's place: dropped, it leaves the doubt.
	claimed := reply("1_2")
	if r, err := l.Reserve(ctx, "100", claimed.Target, "dead", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", r, err)
	}
	hide("1_2")
	hide("1_3")
	removed := reply("1_4")
	if _, err := l.MarkRemoved(ctx, "100", removed.Target); err != nil {
		t.Fatal(err)
	}
	outs, err := e.EnqueueManyOn(ctx, off, []Reply{claimed, reply("1_3"), removed})
	if err != nil || len(outs) != 3 || outs[0] != Enqueued || outs[1] != Enqueued || outs[2] != AlreadyFailed {
		t.Fatalf("EnqueueManyOn, skip_hidden off: %v %v; want enqueued, enqueued, failed (removed)", outs, err)
	}
	if en := entry("1_2"); en.Status != StatusUnknown {
		t.Errorf("the mark of a claim, dropped: %+v; want the doubt", en)
	}
	if en := entry("1_4"); en.Reason != RemovedReason {
		t.Errorf("removal mark: %+v; want kept", en)
	}
}
