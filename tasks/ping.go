package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultPingTimeout is how long a Pinger waits for Redis when its timeout is zero.
const DefaultPingTimeout = 2 * time.Second

// Pinger asks Redis for a PING on behalf of readiness probes, and answers
// within its timeout whatever Redis does.
//
// On a Redis Cluster a keyless PING goes to whichever node answers, so
// readiness stayed 200 while the master holding the queues was down. There
// the Pinger asks that master (the one of the queues' hash slot,
// queuesSlotKey) for CLUSTER INFO instead: its answer is the master's PING,
// and a cluster_state other than ok (a master down past the node timeout,
// slots unassigned) means the Cluster refuses commands (on every slot, by
// default), so Redis is not ready either.
//
// go-redis bounds a command's socket reads by the client's ReadTimeout, and
// retries, not by the context's deadline (unless ContextTimeoutEnabled, which
// pagereply's clients leave off: a deadline would then cut commands such as a
// reply's claim off mid-flight). So a Redis that accepts connections and
// never answers holds a PING for several seconds, and a probe with a timeout
// of its own fails by timeout instead of getting its 503. A Pinger waits for
// the PING only until its timeout or the caller's context ends, and keeps at
// most one PING in flight: the probes that come while one is outstanding
// wait for its answer instead of sending their own, so probes against a hung
// Redis pile up neither goroutines nor connections.
type Pinger struct {
	rdb     redis.UniversalClient
	timeout time.Duration

	mu     sync.Mutex
	flight *pingCall // the PING in flight, nil when none
}

type pingCall struct {
	done chan struct{}
	err  error // set before done is closed
}

// NewPinger returns a Pinger of rdb that waits up to timeout for an answer;
// if timeout is zero or less, DefaultPingTimeout.
func NewPinger(rdb redis.UniversalClient, timeout time.Duration) *Pinger {
	if timeout <= 0 {
		timeout = DefaultPingTimeout
	}
	return &Pinger{rdb: rdb, timeout: timeout}
}

// Ping returns nil when Redis answers a PING before the Pinger's timeout and
// ctx end, else an error. It sends a PING unless one is in flight already,
// whose answer it then waits for.
func (p *Pinger) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	p.mu.Lock()
	c := p.flight
	if c == nil {
		c = &pingCall{done: make(chan struct{})}
		p.flight = c
		go p.send(c)
	}
	p.mu.Unlock()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return fmt.Errorf("redis: no answer to PING within %s", p.timeout)
		}
		return fmt.Errorf("redis: PING: %w", ctx.Err())
	}
}

// send runs one PING to its end, which go-redis's own timeouts bound (dial,
// pool wait, reads and retries), and hands its answer to every waiter.
func (p *Pinger) send(c *pingCall) {
	c.err = p.ping(context.Background())
	p.mu.Lock()
	p.flight = nil
	p.mu.Unlock()
	close(c.done)
}

// queuesSlotKey is a key in the hash slot of the replies queue: asynq's keys
// of a queue share its name as hash tag ("asynq:{replies}:pending", ...).
const queuesSlotKey = "{" + QueueReplies + "}"

// ping asks Redis once: a PING, or on a Cluster CLUSTER INFO of the master of
// the queues' slot, which must say cluster_state:ok.
func (p *Pinger) ping(ctx context.Context) error {
	cc, ok := p.rdb.(*redis.ClusterClient)
	if !ok {
		if err := p.rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("redis: PING: %w", err)
		}
		return nil
	}
	node, err := cc.MasterForKey(ctx, queuesSlotKey)
	if err != nil {
		return fmt.Errorf("redis: find the master of the queues' slot: %w", err)
	}
	addr := node.Options().Addr
	info, err := node.ClusterInfo(ctx).Result()
	if err != nil {
		// The slot map may be stale (a failover moved the slot): the next
		// probe asks the master the cluster names now.
		cc.ReloadState(ctx)
		return fmt.Errorf("redis: CLUSTER INFO of the queues' master %s: %w", addr, err)
	}
	if state := clusterState(info); state != "ok" {
		return fmt.Errorf("redis: cluster_state is %q on the queues' master %s, not ok", state, addr)
	}
	return nil
}

// clusterState returns the cluster_state field of a CLUSTER INFO answer, or
// "" when it has none.
func clusterState(info string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "cluster_state:"); ok {
			return v
		}
	}
	return ""
}
