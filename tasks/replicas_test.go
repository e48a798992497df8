package tasks

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redisproc"
)

// claim reserves tg under token and wants ReserveGo.
func claim(t *testing.T, l *Ledger, page string, tg Target, token string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), batchWait)
	defer cancel()
	r, err := l.Reserve(ctx, page, tg, token, time.Minute, Limit{})
	if err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve %s = %+v, %v; want go", tg, r, err)
	}
}

// TestReplicaGuard runs the guard on a master with one replica: a claim the
// replica holds passes, a claim a frozen (connected, silent) replica does not
// acknowledge and a claim that is gone are refused, and with no replica
// connected claims pass again rather than block every send.
func TestReplicaGuard(t *testing.T) {
	master, replica := startReplicated(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mc, rc := master.Client(), replica.Client()

	for _, b := range []bool{false, true} {
		l := NewLedger(mc, LedgerOptions{Prefix: "pr" + strconv.FormatBool(b) + ":", Batch: b})
		t.Cleanup(func() { closeWithin(t, l) })
		g := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1, Timeout: MaxReplicaTimeout})
		const page = "100"
		tg := Target{Kind: KindComment, ID: "1_" + strconv.FormatBool(b)}
		claim(t, l, page, tg, "tok1")
		if err := g.Ack(ctx, page, tg, "tok1"); err != nil {
			t.Fatalf("batch %v: ack with a healthy replica: %v", b, err)
		}
		// Acknowledged means the replica has it now.
		if v := rc.Get(ctx, l.entryKey(page, tg)).Val(); len(v) < 7 || v[:7] != "c|tok1|" {
			t.Fatalf("batch %v: replica holds %q, want the claim", b, v)
		}
		if err := g.Ack(ctx, page, tg, "other"); !errors.Is(err, ErrNotReplicated) {
			t.Fatalf("batch %v: ack of someone else's claim = %v, want ErrNotReplicated", b, err)
		}
	}

	l := NewLedger(mc, LedgerOptions{})
	g := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1, Timeout: MaxReplicaTimeout})
	quick := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1, Timeout: 300 * time.Millisecond})
	tg := Target{Kind: KindComment, ID: "2_1"}
	claim(t, l, "100", tg, "tok2")
	replica.Pause()
	err := quick.Ack(ctx, "100", tg, "tok2")
	replica.Resume()
	if !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("ack with a frozen replica = %v, want ErrNotReplicated", err)
	}
	if err := g.Ack(ctx, "100", tg, "tok2"); err != nil {
		t.Fatalf("ack once the replica is back: %v", err)
	}

	// No replica connected: nothing to wait for, nothing fresher to fail over to.
	replica.Kill()
	waitRole(t, mc, 0)
	tg3 := Target{Kind: KindComment, ID: "3_1"}
	claim(t, l, "100", tg3, "tok3")
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := g.Ack(ctx, "100", tg3, "tok3")
		if err == nil {
			break
		}
		if !errors.Is(err, ErrNotReplicated) || time.Now().After(deadline) {
			t.Fatalf("ack with no replica connected = %v, want nil", err)
		}
	}

	if NewReplicaGuard(l, ReplicaGuardOptions{}) != nil {
		t.Fatal("a guard for 0 replicas is not nil")
	}
	var none *ReplicaGuard
	if err := none.Ack(ctx, "100", tg3, "x"); err != nil {
		t.Fatalf("nil guard: %v", err)
	}
}

// startReplicated starts a master and a replica of it, and waits until the
// master has the replica connected.
func startReplicated(t *testing.T) (master, replica *redisproc.Server) {
	t.Helper()
	master = redisproc.Start(t, redisproc.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	replica = redisproc.Start(t, redisproc.Options{Args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port())}})
	waitRole(t, master.Client(), 1)
	return master, replica
}

// waitRole waits until the master counts n connected replicas, all of them
// online (past the initial sync).
func waitRole(t *testing.T, c *redis.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := connectedReplicas(context.Background(), c)
		info := c.Info(context.Background(), "replication").Val()
		if err == nil && got == n && strings.Count(info, "state=online") == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("master has %d replicas connected (%v), want %d", got, err, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReplicaGuardCluster runs the guard on a Cluster of three masters with a
// replica each: it follows a claim's key to its master and waits on that
// master's replica, which then holds the claim; with that replica frozen the
// claim is refused, and claims on other masters still pass.
func TestReplicaGuardCluster(t *testing.T) {
	cl := redisproc.StartClusterWithReplicas(t, 3, 1)
	cc := cl.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, _ := newBatchedLedger(t, cc, LedgerOptions{})
	g := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1, Timeout: MaxReplicaTimeout})
	quick := NewReplicaGuard(l, ReplicaGuardOptions{Replicas: 1, Timeout: 300 * time.Millisecond})

	// Pages whose keys live on different masters.
	byMaster := map[string]string{} // master address → page
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
	if len(byMaster) != 3 {
		t.Fatalf("Pages found on %d masters, want 3", len(byMaster))
	}
	for addr, page := range byMaster {
		tg := Target{Kind: KindComment, ID: page + "_1"}
		claim(t, l, page, tg, "tok1")
		if err := g.Ack(ctx, page, tg, "tok1"); err != nil {
			t.Fatalf("master %s: ack with a healthy replica: %v", addr, err)
		}
		rep := cl.ReplicaOf(addr)
		if rep == nil {
			t.Fatalf("no replica of %s", addr)
		}
		rc := rep.Client()
		// A replica answers reads of its slots after READONLY, on the same connection.
		var got *redis.StringCmd
		if _, err := rc.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Do(ctx, "readonly")
			got = p.Get(ctx, l.entryKey(page, tg))
			return nil
		}); err != nil {
			t.Fatalf("replica of %s: %v", addr, err)
		}
		if v := got.Val(); !strings.HasPrefix(v, "c|tok1|") {
			t.Fatalf("replica of %s holds %q, want the claim", addr, v)
		}
	}

	// One master's replica frozen: claims there are refused, the others pass.
	var frozen, other string
	for addr := range byMaster {
		if frozen == "" {
			frozen = addr
		} else {
			other = addr
		}
	}
	rep := cl.ReplicaOf(frozen)
	tgF := Target{Kind: KindComment, ID: byMaster[frozen] + "_2"}
	tgO := Target{Kind: KindComment, ID: byMaster[other] + "_2"}
	claim(t, l, byMaster[frozen], tgF, "tok2")
	claim(t, l, byMaster[other], tgO, "tok2")
	rep.Pause()
	errF := quick.Ack(ctx, byMaster[frozen], tgF, "tok2")
	errO := quick.Ack(ctx, byMaster[other], tgO, "tok2")
	rep.Resume()
	if !errors.Is(errF, ErrNotReplicated) {
		t.Fatalf("ack with the key's replica frozen = %v, want ErrNotReplicated", errF)
	}
	if errO != nil {
		t.Fatalf("ack on another master while one replica is frozen = %v, want nil", errO)
	}
	if err := g.Ack(ctx, byMaster[frozen], tgF, "tok2"); err != nil {
		t.Fatalf("ack once the replica is back: %v", err)
	}
}

func TestReplicasToWait(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    config.Redis
		want int
	}{
		{"url", config.Redis{URL: "redis://127.0.0.1:6379/0"}, 0},
		{"sentinel", config.Redis{Sentinel: &config.Sentinel{Master: "m", Addrs: []string{"127.0.0.1:26379"}}}, 1},
		{"cluster", config.Redis{Cluster: &config.Cluster{Addrs: []string{"127.0.0.1:7000"}}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReplicasToWait(tc.c); got != tc.want {
				t.Fatalf("ReplicasToWait = %d, want %d", got, tc.want)
			}
		})
	}
}
