package tasks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
)

// Claims that outlive a failover.
//
// Redis replication is asynchronous: a master acknowledges a write before its
// replicas have it, and a Sentinel failover promotes a replica that may never
// have seen the last writes. If a worker's claim on a target were among them,
// the new master would hold no entry for a target whose reply went out, and
// the next attempt would send again without asking Graph first (Graph refuses
// a second private reply to a comment with 10900, but a conversation reply
// has no such guard). So on a master with replicas a worker sends only once a
// replica holds its claim (ReplicaGuard.Ack): a failover can then forget the
// mark that follows a send, never the claim before it, and the entry it
// leaves is doubtful, settled by Graph (private_reply_conversation) before
// anything is sent again.
//
// A master with no replica connected (the usual state right after a failover,
// until the old master returns as a replica) has nothing to wait for and no
// replica to fail over to with fresher data: sends go on, unguarded, rather
// than stop until a replica returns.

// ErrNotReplicated is returned (wrapped) by ReplicaGuard.Ack when a connected
// replica did not acknowledge the claim in time, or the claim is gone (a
// failover forgot it). Nothing may be sent: Release the claim and try again
// later.
var ErrNotReplicated = errors.New("tasks: claim not acknowledged by the replicas")

// DefaultReplicaTimeout is how long Ack waits for replicas when
// ReplicaGuardOptions.Timeout is zero.
const DefaultReplicaTimeout = time.Second

// MaxReplicaTimeout is the longest ReplicaGuardOptions.Timeout: WAIT runs in a
// pipeline, which go-redis reads with the client's read timeout (3s by
// default), not a blocking command's longer one.
const MaxReplicaTimeout = 2 * time.Second

// replicaCheckEvery is how long Ack trusts its count of connected replicas.
const replicaCheckEvery = 500 * time.Millisecond

// ReplicasToWait returns how many replicas must acknowledge a claim before a
// send for the redis section c: 1 for a Sentinel set-up (a failover promotes
// a replica), 0 otherwise. On a Cluster WAIT would have to follow each key to
// its node; Cluster replicas are not covered.
func ReplicasToWait(c config.Redis) int {
	if c.Sentinel != nil {
		return 1
	}
	return 0
}

// ReplicaGuardOptions configures NewReplicaGuard.
type ReplicaGuardOptions struct {
	// Replicas is how many replicas must hold a claim (fewer when fewer are
	// connected).
	Replicas int
	// Timeout is the longest wait for them; if zero, DefaultReplicaTimeout; at
	// most MaxReplicaTimeout.
	Timeout time.Duration
}

// ReplicaGuard makes sure a claim is on the master's replicas before its reply
// is sent. Use it on a single master with replicas (Sentinel), not on a
// Cluster. It is safe for concurrent use.
type ReplicaGuard struct {
	l   *Ledger
	opt ReplicaGuardOptions

	mu        sync.Mutex
	connected int
	checked   time.Time
}

// NewReplicaGuard returns a guard for claims made by l, or nil (whose Ack
// does nothing) when opt.Replicas is not positive.
func NewReplicaGuard(l *Ledger, opt ReplicaGuardOptions) *ReplicaGuard {
	if opt.Replicas <= 0 {
		return nil
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultReplicaTimeout
	}
	opt.Timeout = min(opt.Timeout, MaxReplicaTimeout)
	return &ReplicaGuard{l: l, opt: opt}
}

// touchClaimScript rewrites the TTL of a claim that is still the caller's: a
// write that reaches the replicas after the claim itself (one replication
// stream, in order), so WAIT on its connection covers the claim too. On a
// master that lacks the claim (promoted without it) it writes nothing.
//
// KEYS[1] the target's ledger entry. ARGV[1] the claim token, ARGV[2] TTL (ms).
//
// Returns 1 when the claim is there, 0 otherwise.
var touchClaimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.find(v, 'c|' .. ARGV[1] .. '|', 1, true) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// Ack waits until the replicas hold the caller's claim on t (made by Reserve
// under token): it touches the claim and runs WAIT on the same connection for
// Replicas replicas, or for as many as are connected when fewer are. It
// returns nil once they hold it, or at once when no replica is connected, and
// an error wrapping ErrNotReplicated when they do not within Timeout or the
// claim is gone. On a nil guard it returns nil.
func (g *ReplicaGuard) Ack(ctx context.Context, page string, t Target, token string) error {
	if g == nil {
		return nil
	}
	n, err := g.replicas(ctx)
	if err != nil {
		return fmt.Errorf("ack claim on %s of page %s: %w", t, page, err)
	}
	if n == 0 {
		return nil
	}
	keys := []string{g.l.entryKey(page, t)}
	ttl := g.l.ttl.Milliseconds()
	cmd, wait := g.touchAndWait(ctx, n, func(p redis.Pipeliner) *redis.Cmd {
		return touchClaimScript.EvalSha(ctx, p, keys, token, ttl)
	})
	if isNoScript(cmd.Err()) { // a master that never ran it, as after a failover
		cmd, wait = g.touchAndWait(ctx, n, func(p redis.Pipeliner) *redis.Cmd {
			return touchClaimScript.Eval(ctx, p, keys, token, ttl)
		})
	}
	held, err := cmd.Int()
	if err != nil {
		return fmt.Errorf("ack claim on %s of page %s: %w", t, page, err)
	}
	if held != 1 {
		return fmt.Errorf("ack claim on %s of page %s: %w (the claim is gone)", t, page, ErrNotReplicated)
	}
	acked, err := wait.Result()
	if err != nil {
		return fmt.Errorf("ack claim on %s of page %s: wait for %d replicas: %w", t, page, n, err)
	}
	if acked < int64(n) {
		g.forget() // a replica may have gone: count them again next time
		return fmt.Errorf("ack claim on %s of page %s: %w (%d of %d replicas within %s)",
			t, page, ErrNotReplicated, acked, n, g.opt.Timeout)
	}
	return nil
}

// touchAndWait sends the touch and WAIT in one pipeline, so both go over one
// connection: WAIT counts the replicas that have that connection's writes.
func (g *ReplicaGuard) touchAndWait(ctx context.Context, n int, touch func(redis.Pipeliner) *redis.Cmd) (*redis.Cmd, *redis.IntCmd) {
	pipe := g.l.rdb.Pipeline()
	cmd := touch(pipe)
	wait := redis.NewIntCmd(ctx, "wait", n, g.opt.Timeout.Milliseconds())
	_ = pipe.Process(ctx, wait)
	_, _ = pipe.Exec(ctx) // errors are read per command
	return cmd, wait
}

// replicas returns how many replicas to wait for: Replicas, or fewer when
// fewer are connected (ROLE, at most every replicaCheckEvery).
func (g *ReplicaGuard) replicas(ctx context.Context) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.checked) > replicaCheckEvery {
		n, err := connectedReplicas(ctx, g.l.rdb)
		if err != nil {
			return 0, err
		}
		g.connected, g.checked = n, time.Now()
	}
	return min(g.opt.Replicas, g.connected), nil
}

func (g *ReplicaGuard) forget() {
	g.mu.Lock()
	g.checked = time.Time{}
	g.mu.Unlock()
}

// connectedReplicas asks the master (ROLE) how many replicas are connected.
func connectedReplicas(ctx context.Context, rdb redis.UniversalClient) (int, error) {
	v, err := rdb.Do(ctx, "role").Slice()
	if err != nil {
		return 0, fmt.Errorf("count replicas: %w", err)
	}
	if len(v) < 3 || v[0] != "master" {
		return 0, fmt.Errorf("count replicas: ROLE answered %v, not a master's role", v)
	}
	rs, _ := v[2].([]any)
	return len(rs), nil
}
