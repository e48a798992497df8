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

// Pinger asks Redis on behalf of readiness probes whether it answers and
// takes writes, and answers within its timeout whatever Redis does.
//
// A PING alone said ready while Redis refused every write: at its maxmemory
// under noeviction (OOM, deploy/redis/redis.conf's policy) or a replica left
// read-only by a failover (READONLY), every enqueue failed (503) and the load
// balancer kept sending traffic. So the probe is a write: a SET of one small
// key (readyKey, the same for every process) that expires within seconds
// (readyKeyTTL); Redis answers it as cheaply as a PING, and refuses it when
// it refuses any write, with an error wrapping ErrRefusesWrites (ReadyReason
// names it for a probe's answer).
//
// On a Redis Cluster a keyless PING went to whichever node answers, so
// readiness stayed 200 while the master holding the queues was down. There
// the Pinger asks that master (the one of the queues' hash slot,
// queuesSlotKey) for CLUSTER INFO before the write: its answer is the master's PING,
// and a cluster_state other than ok (a master down past the node timeout,
// slots unassigned) means the Cluster refuses commands (on every slot, by
// default), so Redis is not ready either.
//
// go-redis bounds a command's socket reads by the client's ReadTimeout, and
// retries, not by the context's deadline (unless ContextTimeoutEnabled, which
// pagereply's clients leave off: a deadline would then cut commands such as a
// reply's claim off mid-flight). So a Redis that accepts connections and
// never answers holds a command for several seconds, and a probe with a timeout
// of its own fails by timeout instead of getting its 503. A Pinger waits for
// its command only until its timeout or the caller's context ends, and keeps at
// most one in flight: the probes that come while one is outstanding
// wait for its answer instead of sending their own, so probes against a hung
// Redis pile up neither goroutines nor connections.
type Pinger struct {
	rdb     redis.UniversalClient
	timeout time.Duration

	mu     sync.Mutex
	flight *pingCall // the probe in flight, nil when none
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

// Ping returns nil when Redis takes the probe's write before the Pinger's
// timeout and ctx end, else an error (wrapping ErrRefusesWrites when Redis
// answered with a refusal). It sends a probe unless one is in flight
// already, whose answer it then waits for.
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
			return fmt.Errorf("redis: no answer to the readiness probe within %s", p.timeout)
		}
		return fmt.Errorf("redis: readiness probe: %w", ctx.Err())
	}
}

// send runs one probe to its end, which go-redis's own timeouts bound (dial,
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

// readyKey is the key the readiness probe writes, in the replies queue's hash
// slot (on a Cluster, the master whose writes the enqueues need), and
// readyKeyTTL how soon it expires: it holds nothing, and no process leaves a
// key behind.
const (
	readyKey    = DefaultPrefix + "ready:" + queuesSlotKey
	readyKeyTTL = 5 * time.Second
)

// ErrRefusesWrites is wrapped by Ping's error when Redis answers but refuses
// writes: every enqueue would fail.
var ErrRefusesWrites = errors.New("redis refuses writes")

// writeRefusals are the errors by which Redis refuses a write it would take
// otherwise, by their code (the error's first word), with what a probe's
// answer says of them. Other errors (LOADING, an unknown command) are Redis
// not answering the probe, as before.
var writeRefusals = map[string]string{
	"OOM":        "out of memory (OOM: maxmemory reached under noeviction)",
	"READONLY":   "a read-only replica (READONLY)",
	"MISCONF":    "cannot persist to disk (MISCONF)",
	"NOREPLICAS": "not enough replicas (NOREPLICAS)",
}

// refusedError is Redis refusing the probe's write.
type refusedError struct {
	code string // a key of writeRefusals
	err  error
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("%s: %s: %v", ErrRefusesWrites, writeRefusals[e.code], e.err)
}

func (e *refusedError) Is(target error) bool { return target == ErrRefusesWrites }

func (e *refusedError) Unwrap() error { return e.err }

// ReadyReason is what a readiness probe answers (with a 503) for err, an error
// of Ping: which refusal when Redis refuses writes, else that it does not
// answer. It holds neither Redis's address nor its error text.
func ReadyReason(err error) string {
	var re *refusedError
	if errors.As(err, &re) {
		return ErrRefusesWrites.Error() + ": " + writeRefusals[re.code]
	}
	return "redis does not answer"
}

// probeWrite writes readyKey on c, and returns a refusedError when Redis
// refuses the write.
func probeWrite(ctx context.Context, c redis.Cmdable) error {
	err := c.Set(ctx, readyKey, "1", readyKeyTTL).Err()
	if err == nil {
		return nil
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		code, _, _ := strings.Cut(strings.TrimPrefix(rerr.Error(), "ERR "), " ")
		if _, ok := writeRefusals[code]; ok {
			return &refusedError{code: code, err: err}
		}
	}
	return fmt.Errorf("redis: SET %s: %w", readyKey, err)
}

// ping asks Redis once: the probe's write, and before it on a Cluster
// CLUSTER INFO of the master of the queues' slot, which must say
// cluster_state:ok.
func (p *Pinger) ping(ctx context.Context) error {
	cc, ok := p.rdb.(*redis.ClusterClient)
	if !ok {
		return probeWrite(ctx, p.rdb)
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
	if err := probeWrite(ctx, node); err != nil {
		return fmt.Errorf("the queues' master %s: %w", addr, err)
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
