package tasks

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/internal/redistest"
)

// TestPingerHungRedis: against a Redis that accepts connections and never
// answers, a PING gives up when its budget is spent, although go-redis would
// wait for its read timeout (3 s) and retry; and probes that keep coming hold
// one PING, one goroutine and one connection between them, not one each.
func TestPingerHungRedis(t *testing.T) {
	hung := redistest.NewHung(t)
	rdb := NewRedisClient(asynq.RedisClientOpt{Addr: hung.Addr()}) // the service's own options
	t.Cleanup(func() { _ = rdb.Close() })
	p := NewPinger(rdb, 100*time.Millisecond)
	base := runtime.NumGoroutine()

	// Far above the budget, far below go-redis's read timeout.
	const prompt = 2 * time.Second
	ping := func() (time.Duration, error) {
		start := time.Now()
		err := p.Ping(context.Background())
		return time.Since(start), err
	}
	if took, err := ping(); err == nil || took > prompt {
		t.Fatalf("Ping = %v after %s; want an error within %s", err, took, prompt)
	}

	const probes = 40
	var wg sync.WaitGroup
	for range probes {
		wg.Go(func() {
			if took, err := ping(); err == nil || took > prompt {
				t.Errorf("Ping = %v after %s; want an error within %s", err, took, prompt)
			}
		})
	}
	wg.Wait()
	for range 5 {
		if _, err := ping(); err == nil {
			t.Fatal("Ping = nil from a Redis that never answers")
		}
	}

	// One PING in flight uses one connection; go-redis may have retried it on
	// a new one since (once per read timeout).
	if n := hung.Accepted(); n > 3 {
		t.Errorf("%d probes opened %d connections to the hung Redis; want one PING in flight at a time", probes+6, n)
	}
	if n := runtime.NumGoroutine() - base; n > 10 {
		t.Errorf("%d more goroutines after %d probes returned; want the PINGs in flight shared", n, probes+6)
	}
}

// TestPingerRedisUp: a Redis that answers is ready; one that refused a PING
// is asked again on the next probe, not remembered as down.
func TestPingerRedisUp(t *testing.T) {
	db := redistest.New(t)
	cut := redistest.NewCut(t, db.Addr)
	rdb := NewRedisClient(asynq.RedisClientOpt{Addr: cut.Addr(), DB: db.DB, DialTimeout: time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	p := NewPinger(rdb, 0)
	ctx := context.Background()
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping with Redis up: %v", err)
	}
	cut.Down()
	if err := p.Ping(ctx); err == nil {
		t.Fatal("Ping with Redis down = nil")
	}
	cut.Up()
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping with Redis back: %v", err)
	}
}

// TestPingerCluster: on a Redis Cluster the Pinger asks the master of the
// queues' slot, not any node: with that master down it is not ready at once,
// every time, although the other masters answer a PING (before, a keyless
// PING went to whichever node answered, and readiness stayed 200). With that
// master back it is ready again; with another master down it is not ready
// once the cluster says cluster_state:fail (after the node timeout, 2 s
// here), since Redis then refuses commands on every slot.
func TestPingerCluster(t *testing.T) {
	cl := redisproc.StartCluster(t, 3)
	rdb := NewRedisClient(asynq.RedisClusterClientOpt{Addrs: cl.Addrs()}) // the service's own options
	t.Cleanup(func() { _ = rdb.Close() })
	cc := rdb.(*redis.ClusterClient)
	p := NewPinger(rdb, 0)
	ctx := context.Background()
	if err := p.Ping(ctx); err != nil {
		t.Fatalf("Ping on a healthy cluster: %v", err)
	}
	m, err := cc.MasterForKey(ctx, "asynq:{"+QueueReplies+"}:pending")
	if err != nil {
		t.Fatal(err)
	}
	var queues, other *redisproc.Server
	for _, n := range cl.Nodes() {
		if n.Addr() == m.Options().Addr {
			queues = n
		} else {
			other = n
		}
	}
	if queues == nil {
		t.Fatalf("the queues' master %s is not one of %v", m.Options().Addr, cl.Addrs())
	}

	queues.Stop()
	for i := range 10 {
		if err := p.Ping(ctx); err == nil {
			t.Fatalf("probe %d: Ping = nil with the queues' master %s down", i, queues.Addr())
		}
	}

	queues.Restart() // same port and nodes.conf: it takes its slots back
	eventually(t, 30*time.Second, "Ping = nil once the queues' master is back", func() bool { return p.Ping(ctx) == nil })

	other.Stop()
	eventually(t, 10*time.Second, "Ping fails once another master is down", func() bool { return p.Ping(ctx) != nil })
}

// eventually polls cond every 100 ms until it holds, failing t after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
