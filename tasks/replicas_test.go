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
	r, err := l.Reserve(context.Background(), page, tg, token, time.Minute, Limit{})
	if err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve %s = %+v, %v; want go", tg, r, err)
	}
}

// TestReplicaGuard runs the guard on a master with one replica: a claim the
// replica holds passes, a claim a frozen (connected, silent) replica does not
// acknowledge and a claim that is gone are refused, and with no replica
// connected claims pass again rather than block every send.
func TestReplicaGuard(t *testing.T) {
	master := redisproc.Start(t, redisproc.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	replica := redisproc.Start(t, redisproc.Options{Args: []string{"--replicaof", "127.0.0.1", strconv.Itoa(master.Port())}})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	mc, rc := master.Client(), replica.Client()
	waitRole(t, mc, 1)

	for _, b := range []bool{false, true} {
		l := NewLedger(mc, LedgerOptions{Prefix: "pr" + strconv.FormatBool(b) + ":", Batch: b})
		t.Cleanup(l.Close)
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

func TestReplicasToWait(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    config.Redis
		want int
	}{
		{"url", config.Redis{URL: "redis://127.0.0.1:6379/0"}, 0},
		{"sentinel", config.Redis{Sentinel: &config.Sentinel{Master: "m", Addrs: []string{"127.0.0.1:26379"}}}, 1},
		{"cluster", config.Redis{Cluster: &config.Cluster{Addrs: []string{"127.0.0.1:7000"}}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReplicasToWait(tc.c); got != tc.want {
				t.Fatalf("ReplicasToWait = %d, want %d", got, tc.want)
			}
		})
	}
}
