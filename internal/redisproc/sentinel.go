package redisproc

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Sentinel timings: a master that does not answer for SentinelDownAfter is
// down, and its failover takes a few seconds on top.
const (
	SentinelDownAfter       = time.Second
	SentinelFailoverTimeout = 5 * time.Second
	// FailoverWait bounds KillMaster's wait for the sentinels to name a new master.
	FailoverWait = 60 * time.Second
)

// SentinelOptions configures StartSentinelWith.
type SentinelOptions struct {
	// MasterName is the name the sentinels monitor the master under; if empty,
	// "mymaster".
	MasterName string
	// Replicas is the number of replicas of the master; if zero, 1.
	Replicas int
	// Sentinels is the number of sentinel processes (the quorum is a majority
	// of them); if zero, 1.
	Sentinels int
	// AOF turns on the append-only file of the master and replicas (see Options.AOF).
	AOF bool
}

// Sentinel is a master, its replicas and the sentinels that watch them.
type Sentinel struct {
	t         testing.TB
	name      string
	sentinels []*Server

	mu     sync.Mutex
	data   []*Server // every data node; the master is one of them
	master *Server
}

// StartSentinel starts a master, one replica and one sentinel (see
// StartSentinelWith).
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	return StartSentinelWith(t, SentinelOptions{})
}

// StartSentinelWith starts a master, its replicas (--replicaof) and sentinels
// (redis-server <conf> --sentinel) that consider the master down after
// SentinelDownAfter, and waits until the replicas are in sync and every
// sentinel knows every replica and every other sentinel. It skips t when
// redis-server is missing (fails it under CI).
func StartSentinelWith(t testing.TB, opt SentinelOptions) *Sentinel {
	t.Helper()
	if opt.MasterName == "" {
		opt.MasterName = "mymaster"
	}
	if opt.Replicas <= 0 {
		opt.Replicas = 1
	}
	if opt.Sentinels <= 0 {
		opt.Sentinels = 1
	}
	s := &Sentinel{t: t, name: opt.MasterName}
	// Any data node may become the master: all of them sync replicas at once.
	dataArgs := []string{"--repl-diskless-sync-delay", "0"}
	s.master = Start(t, Options{AOF: opt.AOF, Args: dataArgs})
	s.data = append(s.data, s.master)
	for i := 0; i < opt.Replicas; i++ {
		args := append(append([]string(nil), dataArgs...), "--replicaof", "127.0.0.1", strconv.Itoa(s.master.Port()))
		s.data = append(s.data, Start(t, Options{AOF: opt.AOF, Args: args}))
	}
	for _, r := range s.data[1:] {
		waitInfo(t, r, "replication", "master_link_status:up")
	}
	quorum := opt.Sentinels/2 + 1
	conf := fmt.Sprintf(`sentinel monitor %[1]s 127.0.0.1 %[2]d %[3]d
sentinel down-after-milliseconds %[1]s %[4]d
sentinel failover-timeout %[1]s %[5]d
sentinel parallel-syncs %[1]s 1
`, s.name, s.master.Port(), quorum, SentinelDownAfter.Milliseconds(), SentinelFailoverTimeout.Milliseconds())
	for i := 0; i < opt.Sentinels; i++ {
		s.sentinels = append(s.sentinels, startServer(t, Options{}, conf, false))
	}
	s.waitSentinels(opt.Replicas, opt.Sentinels-1)
	return s
}

// waitInfo waits until s's INFO section holds line.
func waitInfo(t testing.TB, s *Server, section, line string) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	deadline := time.Now().Add(StartTimeout)
	var info string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, _ = c.Info(ctx, section).Result()
		cancel()
		if strings.Contains(info, line+"\r\n") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("redisproc: %s: no %q in INFO %s within %s:\n%s", s.Addr(), line, section, StartTimeout, info)
}

// waitSentinels waits until every sentinel sees the master up with replicas
// healthy replicas and knows others other sentinels.
func (s *Sentinel) waitSentinels(replicas, others int) {
	s.t.Helper()
	deadline := time.Now().Add(StartTimeout)
	for _, sn := range s.sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr()})
		var why string
		for {
			why = sentinelNotReady(c, s.name, replicas, others)
			if why == "" {
				break
			}
			if time.Now().After(deadline) {
				_ = c.Close()
				s.t.Fatalf("redisproc: sentinel %s not ready within %s: %s", sn.Addr(), StartTimeout, why)
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = c.Close()
	}
}

// sentinelNotReady says what a sentinel still lacks, or "".
func sentinelNotReady(c *redis.SentinelClient, name string, replicas, others int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, err := c.Master(ctx, name).Result()
	if err != nil {
		return "SENTINEL MASTER: " + err.Error()
	}
	if m["flags"] != "master" {
		return "master flags " + m["flags"]
	}
	if m["num-other-sentinels"] != strconv.Itoa(others) {
		return fmt.Sprintf("knows %s other sentinels, want %d", m["num-other-sentinels"], others)
	}
	rs, err := c.Replicas(ctx, name).Result()
	if err != nil {
		return "SENTINEL REPLICAS: " + err.Error()
	}
	ok := 0
	for _, r := range rs {
		if r["flags"] == "slave" && r["master-link-status"] == "ok" {
			ok++
		}
	}
	if ok < replicas {
		return fmt.Sprintf("%d healthy replicas of %d: %v", ok, replicas, rs)
	}
	return ""
}

// MasterName returns the name the sentinels know the master by.
func (s *Sentinel) MasterName() string { return s.name }

// SentinelAddrs returns the sentinels' host:port.
func (s *Sentinel) SentinelAddrs() []string {
	out := make([]string, len(s.sentinels))
	for i, sn := range s.sentinels {
		out[i] = sn.Addr()
	}
	return out
}

// Sentinels returns the sentinel processes.
func (s *Sentinel) Sentinels() []*Server { return append([]*Server(nil), s.sentinels...) }

// Master returns the current master (the one the sentinels named last).
func (s *Sentinel) Master() *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.master
}

// Replica returns a data node that is not the current master and is running,
// or nil.
func (s *Sentinel) Replica() *Server {
	rs := s.Replicas()
	if len(rs) == 0 {
		return nil
	}
	return rs[0]
}

// Replicas returns the running data nodes that are not the current master.
func (s *Sentinel) Replicas() []*Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Server
	for _, d := range s.data {
		if d != s.master && d.Running() {
			out = append(out, d)
		}
	}
	return out
}

// Client returns a new failover client (go-redis asks the sentinels for the
// master), closed in t's cleanup.
func (s *Sentinel) Client() *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.name, SentinelAddrs: s.SentinelAddrs()})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// KillMaster kills the current master with SIGKILL and waits until every
// sentinel names a new master and that node says it is one. It returns the
// killed master and the new one. The killed one stays down.
func (s *Sentinel) KillMaster() (old, promoted *Server) {
	s.t.Helper()
	old = s.Master()
	old.Kill()
	deadline := time.Now().Add(FailoverWait)
	for _, sn := range s.sentinels {
		c := redis.NewSentinelClient(&redis.Options{Addr: sn.Addr()})
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			addr, err := c.GetMasterAddrByName(ctx, s.name).Result()
			cancel()
			if err == nil && len(addr) == 2 {
				if a := net.JoinHostPort(addr[0], addr[1]); a != old.Addr() {
					if n := s.node(a); n != nil && (promoted == nil || promoted == n) {
						promoted = n
						break
					}
				}
			}
			if time.Now().After(deadline) {
				_ = c.Close()
				s.t.Fatalf("redisproc: sentinel %s named no new master within %s of killing %s (last answer %v, %v)",
					sn.Addr(), FailoverWait, old.Addr(), addr, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		_ = c.Close()
	}
	waitInfo(s.t, promoted, "replication", "role:master")
	s.mu.Lock()
	s.master = promoted
	s.mu.Unlock()
	return old, promoted
}

// node returns the data node at addr, or nil.
func (s *Sentinel) node(addr string) *Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.data {
		if d.Addr() == addr {
			return d
		}
	}
	return nil
}
