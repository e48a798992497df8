package tasks

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/redisproc"
)

// TestHideUnhideOrderedByTime_audit10: a comment's hides and unhides are
// ordered by their time (Meta's created_time), not by when they come: Meta
// delivers a change it failed to deliver again later, after the ones that
// followed it. An unhide that came before the older hide leaves nothing for
// that hide to mark (before, the hide marked the comment, and its reply was
// never sent), a claim included (the worker's send goes on); a hide that
// came before the older unhide keeps its mark (before, the unhide dropped
// it, and the reply went to a comment the Page hid). A newer change still
// wins; changes of the same second, or without a time, go in the order they
// come, and one without a time takes the latest time seen, so an older one
// still loses to it. Removes are not ordered: a remove marks whatever the
// hides and unhides did.
func TestHideUnhideOrderedByTime_audit10(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	at := func(s int64) time.Time { return time.Unix(1767000000+s, 0) }
	state := func(id string) Entry {
		t.Helper()
		e, err := l.Get(ctx, page, Target{Kind: KindComment, ID: id})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	hide := func(id string, when time.Time, want bool) {
		t.Helper()
		if ok, err := l.MarkHidden(ctx, page, id, when); err != nil || ok != want {
			t.Fatalf("hide %s at %v: %v %v, want %v", id, when, ok, err, want)
		}
	}
	unhide := func(id string, when time.Time, want bool) {
		t.Helper()
		if ok, err := l.UnmarkHidden(ctx, page, id, when); err != nil || ok != want {
			t.Fatalf("unhide %s at %v: %v %v, want %v", id, when, ok, err, want)
		}
	}

	// The unhide first, the older hide later: nothing marked.
	unhide("1_1", at(20), false)
	hide("1_1", at(10), false)
	if e := state("1_1"); e.Status != StatusNone {
		t.Errorf("hide older than the unhide that came first: %+v; want none", e)
	}
	hide("1_1", at(30), true) // hidden again since
	if e := state("1_1"); e.Reason != HiddenReason {
		t.Errorf("newer hide: %+v; want hidden", e)
	}

	// The hide first, the older unhide later: the mark stays.
	hide("1_2", at(30), true)
	unhide("1_2", at(20), false)
	if e := state("1_2"); e.Status != StatusFailed || e.Reason != HiddenReason {
		t.Errorf("unhide older than the hide that came first: %+v; want still hidden", e)
	}
	unhide("1_2", at(40), true)
	if e := state("1_2"); e.Status != StatusNone {
		t.Errorf("newer unhide: %+v; want none", e)
	}

	// A worker's claim: the older hide after the unhide leaves it to the
	// worker; a newer one takes its place, keeping its lease.
	claimed := Target{Kind: KindComment, ID: "1_3"}
	if r, err := l.Reserve(ctx, page, claimed, "w", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", r, err)
	}
	unhide(claimed.ID, at(20), false)
	hide(claimed.ID, at(10), false)
	if e := state(claimed.ID); e.Status != StatusClaimed {
		t.Errorf("claim after an unhide and the older hide: %+v; want still claimed", e)
	}
	hide(claimed.ID, at(30), true)
	unhide(claimed.ID, at(25), false)
	if e := state(claimed.ID); e.Status != StatusFailed || e.Reason != HiddenReason {
		t.Errorf("claim's place after a hide and an older unhide: %+v; want hidden", e)
	}
	unhide(claimed.ID, at(35), true)
	if e := state(claimed.ID); e.Status != StatusUnknown {
		t.Errorf("claim's mark unhidden: %+v; want the doubt", e)
	}

	// Same second, or no time: in the order they come.
	hide("1_4", at(50), true)
	unhide("1_4", at(50), true)
	hide("1_4", at(50), true)
	unhide("1_4", time.Time{}, true)
	hide("1_4", time.Time{}, true)
	unhide("1_4", at(49), false) // older than the latest time seen (50)
	if e := state("1_4"); e.Reason != HiddenReason {
		t.Errorf("after an older unhide: %+v; want hidden", e)
	}
	unhide("1_4", at(51), true)

	// A remove is not ordered: it marks a comment an unhide showed.
	unhide("1_5", at(20), false)
	if ok, err := l.MarkRemoved(ctx, page, Target{Kind: KindComment, ID: "1_5"}); err != nil || !ok {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if e := state("1_5"); e.Reason != RemovedReason {
		t.Errorf("removed after an unhide: %+v; want removed", e)
	}
	// The shown key lives as long as a ledger entry.
	if ttl, err := l.rdb.PTTL(ctx, l.shownKey(page, Target{Kind: KindComment, ID: "1_1"})).Result(); err != nil || ttl <= 0 || ttl > l.ttl {
		t.Errorf("shown key's TTL %v %v, want up to %v", ttl, err, l.ttl)
	}
}

// TestHideOrderGuardedCluster_audit10: on a Cluster with a replica per
// master, the guarded hide and unhide (ReplicaGuard, as the webhook writes
// them there) run their script on the comment's ledger entry and its shown
// key together, one slot (the Page's hash tag), on Pages of every master,
// and order by time as on one Redis: no CROSSSLOT refusal, which would
// answer every hide 503 for Meta to deliver again, and again.
func TestHideOrderGuardedCluster_audit10(t *testing.T) {
	cl := redisproc.StartClusterWithReplicas(t, 3, 1)
	cc := cl.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, _ := newBatchedLedger(t, cc, LedgerOptions{})
	g := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1, Timeout: MaxReplicaTimeout})
	byMaster := map[string]string{}
	for i := 0; len(byMaster) < 3 && i < 1000; i++ {
		page := strconv.Itoa(100 + i)
		m, err := cc.MasterForKey(ctx, l.entryKey(page, Target{Kind: KindComment, ID: "x"}))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := byMaster[m.Options().Addr]; !ok {
			byMaster[m.Options().Addr] = page
		}
	}
	for addr, page := range byMaster {
		id := page + "_1"
		if ok, err := g.UnmarkHidden(ctx, page, id, time.Unix(1767000020, 0)); err != nil || ok {
			t.Fatalf("master %s: unhide: %v %v", addr, ok, err)
		}
		if ok, err := g.MarkHidden(ctx, page, id, time.Unix(1767000010, 0)); err != nil || ok {
			t.Fatalf("master %s: older hide: %v %v; want nothing marked", addr, ok, err)
		}
		if ok, err := g.MarkHidden(ctx, page, id, time.Unix(1767000030, 0)); err != nil || !ok {
			t.Fatalf("master %s: newer hide: %v %v; want marked", addr, ok, err)
		}
		if e, err := l.Get(ctx, page, Target{Kind: KindComment, ID: id}); err != nil || e.Reason != HiddenReason {
			t.Fatalf("master %s: %+v %v; want hidden", addr, e, err)
		}
	}
}
