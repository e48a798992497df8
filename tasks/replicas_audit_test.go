package tasks

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redisproc"
)

// TestReplicaGuardTimeouts: a guard's wait is bounded by its Timeout, which
// defaults to DefaultReplicaTimeout when zero and is cut to MaxReplicaTimeout
// when longer: WAIT runs in a pipeline read with the client's 3 s read
// timeout, and a WAIT of 0 would block for ever. Either way a silent replica
// gives ErrNotReplicated (the claim is put back), not a network error that
// reads as Redis being away, and the error names the wait it gave.
func TestReplicaGuardTimeouts(t *testing.T) {
	master, replica := startReplicated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mc := master.Client()
	l := NewLedger(mc, LedgerOptions{})
	defaulted := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1})
	capped := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1, Timeout: 10 * time.Second})
	tg := Target{Kind: KindComment, ID: "1_1"}
	claim(t, l, "100", tg, "tok")

	replica.Pause()
	errD := defaulted.Ack(ctx, "100", tg, "tok")
	errC := capped.Ack(ctx, "100", tg, "tok")
	replica.Resume()
	for _, c := range []struct {
		name string
		err  error
		want time.Duration
	}{{"no timeout", errD, DefaultReplicaTimeout}, {"10s timeout", errC, MaxReplicaTimeout}} {
		if !errors.Is(c.err, ErrNotReplicated) {
			t.Errorf("%s: ack with a frozen replica = %v, want ErrNotReplicated", c.name, c.err)
		} else if w := "within " + c.want.String(); !strings.Contains(c.err.Error(), w) {
			t.Errorf("%s: ack with a frozen replica = %v, want it to say %q", c.name, c.err, w)
		}
	}
	if err := capped.Ack(ctx, "100", tg, "tok"); err != nil {
		t.Fatalf("ack once the replica is back: %v", err)
	}
}

// TestReplicaGuardNotOnAMaster: a guard whose client reaches a replica (a
// demoted master) does not let a send go as if no replica were connected:
// ROLE there is a replica's, and Ack says so.
func TestReplicaGuardNotOnAMaster(t *testing.T) {
	master, replica := startReplicated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mc := master.Client()
	claim(t, NewLedger(mc, LedgerOptions{}), "100", Target{Kind: KindComment, ID: "1_1"}, "tok")
	g := NewReplicaGuard(NewLedger(replica.Client(), LedgerOptions{}), ReplicaGuardOptions{Replicas: 1})
	err := g.Ack(ctx, "100", Target{Kind: KindComment, ID: "1_1"}, "tok")
	if err == nil || !strings.Contains(err.Error(), "not a master") {
		t.Fatalf("ack through a replica = %v, want an error saying it is not a master", err)
	}
}

// TestReplicaGuardRecountsAfterMiss: when replicas miss a claim because one
// has gone, the guard counts the connected replicas again on the next Ack
// instead of trusting its count for replicaCheckEvery: with the last replica
// gone, the next claim passes (nothing left to wait for) rather than being
// refused once more.
func TestReplicaGuardRecountsAfterMiss(t *testing.T) {
	master := redisproc.Start(t, redisproc.Options{}) // its replica gone
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := NewLedger(master.Client(), LedgerOptions{})
	g := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1, Timeout: 100 * time.Millisecond})
	tg := Target{Kind: KindComment, ID: "1_1"}
	claim(t, l, "100", tg, "tok")
	// The count was just read, while the replica was still there.
	g.mu.Lock()
	g.masters[""] = &replicaCount{connected: 1, checked: time.Now()}
	g.mu.Unlock()
	if err := g.Ack(ctx, "100", tg, "tok"); !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("ack with the replica gone and still counted = %v, want ErrNotReplicated", err)
	}
	if err := g.Ack(ctx, "100", tg, "tok"); err != nil {
		t.Fatalf("ack after a miss with no replica left = %v, want nil (the replicas counted again)", err)
	}
}

// TestReplicaGuardClaimFromAnotherConnection: the claim is usually written on
// another connection than the guard's WAIT (a pool of many, the batcher's
// pipelines), and WAIT waits for its own connection's last write. The guard's touch of the claim is that write: with a frozen
// replica, a claim made elsewhere is not acknowledged. (Redis 7.0 sets a
// connection's WAIT offset after any command, a read too, so there the touch
// only matters as the check that the claim is still there; a Redis that
// counts only the connection's own writes needs it.)
func TestReplicaGuardClaimFromAnotherConnection(t *testing.T) {
	master, replica := startReplicated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	claimer := NewLedger(master.Client(), LedgerOptions{})
	guarded := master.Client() // its own pool: a connection that never wrote
	g := NewReplicaGuard(NewLedger(guarded, LedgerOptions{}), ReplicaGuardOptions{Replicas: 1, Timeout: 300 * time.Millisecond})
	tg := Target{Kind: KindComment, ID: "1_1"}

	replica.Pause()
	claim(t, claimer, "100", tg, "tok")
	err := g.Ack(ctx, "100", tg, "tok")
	replica.Resume()
	if !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("ack of a claim made on another connection, replica frozen = %v, want ErrNotReplicated", err)
	}
	patient := NewReplicaGuard(NewLedger(guarded, LedgerOptions{}), ReplicaGuardOptions{Replicas: 1, Timeout: MaxReplicaTimeout})
	if err := patient.Ack(ctx, "100", tg, "tok"); err != nil {
		t.Fatalf("ack once the replica is back: %v", err)
	}
}

// TestReplicaGuardClusterCountsPerMaster: on a Cluster each master's
// replicas are counted apart. A master left without a replica (its replica
// gone) lets its claims pass at once; that count must not stand for another
// master's, whose claims still wait for its replica: with that replica
// frozen they are refused, even right after a pass on the first master.
func TestReplicaGuardClusterCountsPerMaster(t *testing.T) {
	cl := redisproc.StartClusterWithReplicas(t, 3, 1)
	cc := cl.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := NewLedger(cc, LedgerOptions{})
	t.Cleanup(l.Close)

	// Two Pages whose keys live on different masters.
	var pages [2]string
	var masters [2]*redis.Client
	for i := 0; masters[1] == nil && i < 1000; i++ {
		page := strconv.Itoa(100 + i)
		m, err := cc.MasterForKey(ctx, l.entryKey(page, Target{Kind: KindComment, ID: page + "_1"}))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case masters[0] == nil:
			pages[0], masters[0] = page, m
		case m.Options().Addr != masters[0].Options().Addr:
			pages[1], masters[1] = page, m
		}
	}
	if masters[1] == nil {
		t.Fatal("no two Pages on different masters")
	}
	alone, guarded := masters[0].Options().Addr, masters[1].Options().Addr
	cl.ReplicaOf(alone).Kill()
	deadline := time.Now().Add(30 * time.Second)
	for n, err := connectedReplicas(ctx, masters[0]); n != 0 || err != nil; n, err = connectedReplicas(ctx, masters[0]) {
		if time.Now().After(deadline) {
			t.Fatalf("master %s still counts %d replicas (%v)", alone, n, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	g := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1, Timeout: 300 * time.Millisecond})
	tgs := [2]Target{{Kind: KindComment, ID: pages[0] + "_1"}, {Kind: KindComment, ID: pages[1] + "_1"}}
	claim(t, l, pages[0], tgs[0], "tok")
	claim(t, l, pages[1], tgs[1], "tok")
	rep := cl.ReplicaOf(guarded)
	if rep == nil {
		t.Fatalf("no replica of %s", guarded)
	}
	rep.Pause()
	errAlone := g.Ack(ctx, pages[0], tgs[0], "tok")
	errGuarded := g.Ack(ctx, pages[1], tgs[1], "tok")
	rep.Resume()
	if errAlone != nil {
		t.Errorf("ack on master %s, with no replica = %v, want nil", alone, errAlone)
	}
	if !errors.Is(errGuarded, ErrNotReplicated) {
		t.Errorf("ack on master %s, its replica frozen, right after a pass on %s = %v, want ErrNotReplicated", guarded, alone, errGuarded)
	}
}
