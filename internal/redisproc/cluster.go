package redisproc

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is a Redis Cluster on loopback, every slot assigned: masters only
// (StartCluster) or each with replicas (StartClusterWithReplicas).
type Cluster struct {
	t        testing.TB
	nodes    []*Server
	replicas int
}

// StartCluster starts masters redis-server processes with cluster mode on,
// joins them with `redis-cli --cluster create`, and waits until every node
// reports cluster_state:ok and knows every other. It skips t when
// redis-server or redis-cli is missing (fails it under CI). Each node keeps no
// data on disk.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	return StartClusterWithReplicas(t, masters, 0)
}

// StartClusterWithReplicas is StartCluster with replicas replicas for each
// master (masters × (1 + replicas) nodes), and waits until every master has
// them connected and in sync.
func StartClusterWithReplicas(t testing.TB, masters, replicas int) *Cluster {
	t.Helper()
	if masters < 3 {
		t.Fatalf("redisproc: a Redis Cluster needs at least 3 masters, not %d", masters)
	}
	cli := lookPath(t, "redis-cli")
	lookPath(t, "redis-server")
	c := &Cluster{t: t, replicas: replicas}
	for i := 0; i < masters*(1+replicas); i++ {
		c.nodes = append(c.nodes, startServer(t, Options{Args: []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "2000",
			"--repl-diskless-sync-delay", "0", // a replica's first sync starts at once
		}}, "", true))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	cmd := exec.Command(cli, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("redisproc: redis-cli --cluster create: %v\n%s", err, out.String())
	}
	c.waitReady()
	return c
}

// waitReady waits until every node says cluster_state:ok, knows every node
// and has all 16384 slots assigned.
func (c *Cluster) waitReady() {
	c.t.Helper()
	want := []string{
		"cluster_state:ok",
		"cluster_slots_assigned:16384",
		"cluster_known_nodes:" + strconv.Itoa(len(c.nodes)),
	}
	deadline := time.Now().Add(StartTimeout)
	for _, n := range c.nodes {
		cl := redis.NewClient(&redis.Options{Addr: n.Addr()})
		var info string
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			info, _ = cl.ClusterInfo(ctx).Result()
			cancel()
			if hasAll(info, want) {
				break
			}
			if time.Now().After(deadline) {
				_ = cl.Close()
				c.t.Fatalf("redisproc: cluster node %s not ready within %s:\n%s", n.Addr(), StartTimeout, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		_ = cl.Close()
		if c.replicas > 0 {
			if role := roleOf(n); len(role) > 0 && role[0] == "slave" {
				waitInfo(c.t, n, "replication", "master_link_status:up")
			} else {
				c.waitOnline(n, deadline)
			}
		}
	}
}

// waitOnline waits until master's ROLE lists every replica it should have:
// ROLE lists a replica only once it is online (past its initial sync and
// first acknowledgement), and that is the count WAIT users go by.
func (c *Cluster) waitOnline(master *Server, deadline time.Time) {
	c.t.Helper()
	for {
		role := roleOf(master)
		if len(role) > 2 {
			if rs, _ := role[2].([]any); len(rs) == c.replicas {
				return
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("redisproc: cluster master %s: ROLE %v, want %d replicas online within %s", master.Addr(), role, c.replicas, StartTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// roleOf is s's answer to ROLE, or nil.
func roleOf(s *Server) []any {
	cl := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	role, err := cl.Do(ctx, "role").Slice()
	if err != nil {
		return nil
	}
	return role
}

// ReplicaOf returns a node replicating the master at addr, or nil.
func (c *Cluster) ReplicaOf(addr string) *Server {
	for _, n := range c.nodes {
		role := roleOf(n)
		if len(role) < 3 || role[0] != "slave" {
			continue
		}
		if host, _ := role[1].(string); host+":"+fmt.Sprint(role[2]) == addr {
			return n
		}
	}
	return nil
}

func hasAll(info string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(info, w+"\r\n") && !strings.HasSuffix(info, w) {
			return false
		}
	}
	return true
}

// Addrs returns the nodes' host:port, in start order.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Addr()
	}
	return out
}

// Nodes returns the node processes, in start order.
func (c *Cluster) Nodes() []*Server { return append([]*Server(nil), c.nodes...) }

// Client returns a new cluster client, closed in t's cleanup.
func (c *Cluster) Client() *redis.ClusterClient {
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	c.t.Cleanup(func() { _ = cl.Close() })
	return cl
}

// String describes the cluster for logs.
func (c *Cluster) String() string {
	return fmt.Sprintf("redis cluster %s", strings.Join(c.Addrs(), ","))
}
