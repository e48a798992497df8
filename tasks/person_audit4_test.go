package tasks

import (
	"context"
	"testing"
	"time"
)

// TestPersonHeldByLapsedClaim: a person's claim whose target's claim lapsed
// (its attempt stalled or its worker died, perhaps mid-send) still holds the
// person, within the window: that attempt may have sent the reply, and the
// target's rerun, doubtful, checks before it sends. Only a claim whose lease
// ended longer ago than the window is abandoned. A reply to the person's
// other message, let through as soon as the lease ran out, could go out
// beside the stalled attempt's.
func TestPersonHeldByLapsedClaim(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	page, ann := "100", Person{ID: "7011"}
	m1, m2, _ := messageTargets()
	created := time.Now().Add(-time.Minute)
	window := 24 * time.Hour
	now := time.Now().UnixMilli()
	setEntry := entrySetter(t, l, page)
	entry := func(v string) { t.Helper(); setEntry(m1, v) }
	entry("c|tok1|" + itoa(now+30000))
	if pc, err := l.PersonClaim(ctx, page, ann, m1, "tok1", created, window); err != nil || pc.Outcome != PersonClaimed {
		t.Fatalf("m1's claim: %+v %v", pc, err)
	}
	// m1's lease ran out a minute ago, its attempt never heard from again.
	entry("c|tok1|" + itoa(now-time.Minute.Milliseconds()))
	pc, err := l.PersonClaim(ctx, page, ann, m2, "tok2", created.Add(time.Second), window)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Outcome != PersonBusy || pc.InDoubt {
		t.Errorf("m2 while m1's lapsed claim may have sent: %+v, want busy (under way)", pc)
	}
}
