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
//
// A Redis Cluster fails over the same way, per shard: there the guard follows
// the claim's key to its master (the ClusterClient's slot map) and waits on
// that master's replicas.

// ErrNotReplicated is returned (wrapped) by ReplicaGuard.Ack when a connected
// replica did not acknowledge the claim in time, or the claim is gone (a
// failover forgot it). Nothing may be sent: Release the claim and try again
// later. (ReplicaGuard.MarkHidden and UnmarkHidden return it too: a hide or
// unhide not acknowledged in time.)
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
// send for the redis section c: 1 for a Sentinel set-up or a Cluster (a
// failover promotes a replica), 0 for a single server.
func ReplicasToWait(c config.Redis) int {
	if c.Sentinel != nil || c.Cluster != nil {
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

// ReplicaGuard makes sure a claim is on its master's replicas before its reply
// is sent: the one master of a Sentinel set-up, or on a Cluster the master of
// the claim's slot. It is safe for concurrent use.
type ReplicaGuard struct {
	l   *Ledger
	opt ReplicaGuardOptions

	mu sync.Mutex
	// masters holds each master's count of connected replicas, by address
	// ("" for the ledger's own client when it is not a Cluster).
	masters map[string]*replicaCount
}

type replicaCount struct {
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
	return &ReplicaGuard{l: l, opt: opt, masters: map[string]*replicaCount{}}
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
	keys := []string{g.l.entryKey(page, t)}
	master, addr, err := g.master(ctx, keys[0])
	if err != nil {
		return fmt.Errorf("ack claim on %s of page %s: %w", t, page, err)
	}
	n, err := g.replicas(ctx, master, addr)
	if err != nil {
		return fmt.Errorf("ack claim on %s of page %s: %w", t, page, err)
	}
	if n == 0 {
		return nil
	}
	ttl := g.l.ttl.Milliseconds()
	cmd, wait := g.touchAndWait(ctx, master, n, func(p redis.Pipeliner) *redis.Cmd {
		return touchClaimScript.EvalSha(ctx, p, keys, token, ttl)
	})
	if isNoScript(cmd.Err()) { // a master that never ran it, as after a failover
		cmd, wait = g.touchAndWait(ctx, master, n, func(p redis.Pipeliner) *redis.Cmd {
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
		g.forget(addr) // a replica may have gone: count them again next time
		return fmt.Errorf("ack claim on %s of page %s: %w (%d of %d replicas within %s)",
			t, page, ErrNotReplicated, acked, n, g.opt.Timeout)
	}
	return nil
}

// master returns the client to run a key's touch and WAIT on, and the
// address its replica count is kept under: on a Cluster the node client of
// the key's master (WAIT has no key to route by, so both commands go to that
// node directly), otherwise the ledger's own client and "".
func (g *ReplicaGuard) master(ctx context.Context, key string) (redis.UniversalClient, string, error) {
	cc, ok := g.l.rdb.(*redis.ClusterClient)
	if !ok {
		return g.l.rdb, "", nil
	}
	node, err := cc.MasterForKey(ctx, key)
	if err != nil {
		return nil, "", fmt.Errorf("find the master of %s: %w", key, err)
	}
	return node, node.Options().Addr, nil
}

// touchAndWait sends the touch and WAIT in one pipeline on master, so both go
// over one connection: WAIT counts the replicas that have that connection's
// writes.
func (g *ReplicaGuard) touchAndWait(ctx context.Context, master redis.UniversalClient, n int, touch func(redis.Pipeliner) *redis.Cmd) (*redis.Cmd, *redis.IntCmd) {
	pipe := master.Pipeline()
	cmd := touch(pipe)
	wait := redis.NewIntCmd(ctx, "wait", n, g.opt.Timeout.Milliseconds())
	_ = pipe.Process(ctx, wait)
	_, _ = pipe.Exec(ctx) // errors are read per command
	return cmd, wait
}

// replicas returns how many replicas of master (kept under addr) to wait for:
// Replicas, or fewer when fewer are connected (ROLE, at most every
// replicaCheckEvery per master).
func (g *ReplicaGuard) replicas(ctx context.Context, master redis.UniversalClient, addr string) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.masters[addr]
	if c == nil {
		c = &replicaCount{}
		g.masters[addr] = c
	}
	if time.Since(c.checked) > replicaCheckEvery {
		n, err := connectedReplicas(ctx, master)
		if err != nil {
			return 0, err
		}
		c.connected, c.checked = n, time.Now()
	}
	return min(g.opt.Replicas, c.connected), nil
}

func (g *ReplicaGuard) forget(addr string) {
	g.mu.Lock()
	if c := g.masters[addr]; c != nil {
		c.checked = time.Time{}
	}
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

// Hide marks that outlive a failover.
//
// The webhook's hide mark keeps a hidden comment's reply from going out, and
// its unhide gives the reply back (or leaves the doubt of a claim the mark
// took): a failover that forgot either would send a reply to a hidden
// comment, or keep for the ledger's 8 days a mark that no poll lifts (a
// missed reply). Meta delivers a change once it is answered 200, so the
// guard's MarkHidden, UnmarkHidden and MarkRemoved (a lost removal only
// costs a send Graph refuses) answer only once the replicas hold
// what they wrote, and an error wrapping ErrNotReplicated otherwise: the
// webhook answers 503, and Meta delivers the change again.

// MarkHidden is Ledger.MarkHidden, waiting (as Ack does for a claim) until
// the replicas hold the mark.
func (g *ReplicaGuard) MarkHidden(ctx context.Context, page, commentID string, at time.Time) (bool, error) {
	return g.l.markHidden(ctx, g.write, page, commentID, at)
}

// UnmarkHidden is Ledger.UnmarkHidden, waiting (as Ack does for a claim)
// until the replicas hold what it wrote.
func (g *ReplicaGuard) UnmarkHidden(ctx context.Context, page, commentID string, at time.Time) (bool, error) {
	return g.l.unmarkHidden(ctx, g.write, page, commentID, at)
}

// MarkRemoved is Ledger.MarkRemoved, waiting (as Ack does for a claim)
// until the replicas hold the mark.
func (g *ReplicaGuard) MarkRemoved(ctx context.Context, page string, t Target) (bool, error) {
	return g.l.markRemoved(ctx, g.write, page, t)
}

// write runs the ledger script s on the master of keys (one slot) and WAIT
// after it on the
// same connection, for Replicas replicas or as many as are connected (none:
// no wait). It returns the script's answer, with an error wrapping
// ErrNotReplicated when the replicas did not acknowledge within Timeout
// (what the script wrote stays on the master).
func (g *ReplicaGuard) write(ctx context.Context, keys []string, s *redis.Script, args ...any) (int64, error) {
	master, addr, err := g.master(ctx, keys[0])
	if err != nil {
		return 0, err
	}
	n, err := g.replicas(ctx, master, addr)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return s.Run(ctx, master, keys, args...).Int64()
	}
	cmd, wait := g.touchAndWait(ctx, master, n, func(p redis.Pipeliner) *redis.Cmd {
		return s.EvalSha(ctx, p, keys, args...)
	})
	if isNoScript(cmd.Err()) { // a master that never ran it, as after a failover
		cmd, wait = g.touchAndWait(ctx, master, n, func(p redis.Pipeliner) *redis.Cmd {
			return s.Eval(ctx, p, keys, args...)
		})
	}
	res, err := cmd.Int64()
	if err != nil {
		return 0, err
	}
	acked, err := wait.Result()
	if err != nil {
		return res, fmt.Errorf("wait for %d replicas: %w", n, err)
	}
	if acked < int64(n) {
		g.forget(addr) // a replica may have gone: count them again next time
		return res, fmt.Errorf("%w (%d of %d replicas within %s)", ErrNotReplicated, acked, n, g.opt.Timeout)
	}
	return res, nil
}
