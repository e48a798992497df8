package redisproc_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redisproc"
)

func TestStartKillRestartKeepsAOFData(t *testing.T) {
	s := redisproc.Start(t, redisproc.Options{AOF: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	addr := s.Addr()
	s.Kill()
	if s.Running() {
		t.Fatal("running after Kill")
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered after Kill")
	}
	s.Restart()
	if s.Addr() != addr {
		t.Fatalf("addr after Restart = %s, want %s", s.Addr(), addr)
	}
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("get after Kill+Restart = %q, %v; want v", got, err)
	}
	s.Restart() // clean stop, then start
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("get after Restart = %q, %v; want v", got, err)
	}
}

func TestStartWithoutAOFForgets(t *testing.T) {
	s := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory", "64mb"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	if got := c.ConfigGet(ctx, "maxmemory").Val()["maxmemory"]; got != "67108864" {
		t.Fatalf("maxmemory = %q: Args not applied", got)
	}
	s.Kill()
	s.Restart()
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("exists after restart without AOF = %d, %v; want 0", n, err)
	}
}

func TestCluster(t *testing.T) {
	c := redisproc.StartCluster(t, 3)
	if len(c.Addrs()) != 3 {
		t.Fatalf("addrs %v", c.Addrs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := c.Client()
	// Keys on every master: each node holds some of them.
	for i := 0; i < 100; i++ {
		if err := cl.Set(ctx, "k"+strconv.Itoa(i), i, 0).Err(); err != nil {
			t.Fatalf("set: %v", err)
		}
	}
	var mu sync.Mutex
	per := map[string]int64{}
	err := cl.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		n, err := m.DBSize(ctx).Result()
		mu.Lock()
		per[m.Options().Addr] = n
		mu.Unlock()
		return err
	})
	if err != nil {
		t.Fatalf("dbsize: %v", err)
	}
	var total int64
	for addr, n := range per {
		if n == 0 {
			t.Errorf("master %s holds no key", addr)
		}
		total += n
	}
	if len(per) != 3 || total != 100 {
		t.Fatalf("keys per master %v, want 3 masters and 100 keys", per)
	}
	// A script over keys of one hash tag runs; over two slots it is refused.
	if err := cl.Eval(ctx, "return redis.call('MSET', KEYS[1], 1, KEYS[2], 2)", []string{"{a}:1", "{a}:2"}).Err(); err != nil {
		t.Fatalf("same-slot script: %v", err)
	}
	if err := cl.Eval(ctx, "return redis.call('MSET', KEYS[1], 1, KEYS[2], 2)", []string{"a1", "b2"}).Err(); err == nil {
		t.Fatal("cross-slot script ran: not a cluster?")
	}
}

func TestSentinelFailover(t *testing.T) {
	s := redisproc.StartSentinel(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := s.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	if n, err := c.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v; want the replica to acknowledge", n, err)
	}
	first := s.Master()
	replica := s.Replica()
	old, promoted := s.KillMaster()
	if old != first || promoted != replica || s.Master() != promoted {
		t.Fatalf("failover: killed %s, promoted %s; want %s, %s", old.Addr(), promoted.Addr(), first.Addr(), replica.Addr())
	}
	// The failover client follows the sentinel to the new master.
	eventually(t, 30*time.Second, func() bool {
		got, err := c.Get(ctx, "k").Result()
		return err == nil && got == "v" && c.Set(ctx, "k2", "v2", 0).Err() == nil
	})
	if got := promoted.Client().Get(ctx, "k2").Val(); got != "v2" {
		t.Fatalf("write after failover went elsewhere: new master has k2=%q", got)
	}
}

func TestSentinelThree(t *testing.T) {
	if testing.Short() {
		t.Skip("three sentinels: a few seconds")
	}
	s := redisproc.StartSentinelWith(t, redisproc.SentinelOptions{Sentinels: 3, MasterName: "other"})
	if len(s.SentinelAddrs()) != 3 || s.MasterName() != "other" {
		t.Fatalf("sentinels %v, name %s", s.SentinelAddrs(), s.MasterName())
	}
	_, promoted := s.KillMaster()
	if promoted == nil || !promoted.Running() {
		t.Fatal("no running master after failover")
	}
}

func eventually(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPauseResume(t *testing.T) {
	s := redisproc.Start(t, redisproc.Options{})
	c := s.Client()
	s.Pause()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := c.Ping(ctx).Err()
	cancel()
	if err == nil {
		t.Fatal("a paused server answered PING")
	}
	s.Resume()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Resume: %v", err)
	}
	s.Pause()
	s.Stop() // stops a paused server too
	if s.Running() {
		t.Fatal("running after Stop")
	}
}
