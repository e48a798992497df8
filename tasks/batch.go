package tasks

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// batcher sends the ledger's script calls of many concurrent reply handlers
// together: calls that arrive while a pipeline is on the wire (or, with a
// linger, within it of a batch's first call) go out as one pipeline, in which
// calls that can be merged (the reservations, or the sent marks, of one Page)
// become a single script call. A reply then costs a fraction of a round trip
// and of a script call instead of two whole ones, which is most of the
// pipeline's overhead over bare asynq (see `pagereply bench pipeline`).
//
// There is no batching goroutine to hand calls to: a caller that finds a
// pipeline slot free sends the queue itself, so a lone call costs no
// goroutine switch. Calls that queued meanwhile are sent, when it is done, by
// a goroutine that keeps the slot while calls keep coming.
type batcher struct {
	rdb redis.UniversalClient
	// linger is how long a batch's first call waits for others (0: none).
	linger time.Duration
	// maxInflight bounds the pipelines on the wire at once.
	maxInflight int

	// Counts of what was sent: pipelines, script calls in them, and the
	// callers' calls those carried (BatchStats).
	pipelines, scripts, ops atomic.Int64
	// onWire counts pipelines sent and not yet answered to their callers.
	onWire atomic.Int64

	// flushAt ends a linger early: a batch goes as soon as this many calls
	// wait (0: never early).
	flushAt int
	// full wakes a lingering sender whose batch reached flushAt.
	full chan struct{}

	mu       sync.Mutex
	queue    []*batchOp
	inflight int // pipeline slots taken, each by one sender
	// gathering is set while a sender holds the queue open (lingering, or
	// about to take it): calls queue for it instead of starting another
	// batch, so one linger gathers every call that arrives during it.
	gathering bool
	closed    bool // set by close: calls run one by one
	senders   sync.WaitGroup
}

// batchOp is one script call. Calls with the same script and a non-empty
// merge key share their first sharedKeys keys and sharedArgs arguments, and
// the script takes any number of the rest (a fixed number each) and returns
// a flat array of stride values per call (1 when stride is 0): such calls are
// merged into one, and each caller gets its stride values as a []any.
type batchOp struct {
	script                 *redis.Script
	keys                   []string
	args                   []any
	merge                  string
	sharedKeys, sharedArgs int
	stride                 int
	res                    chan batchResult
	// abandoned, when set, is called on a goroutine of its own with the
	// result of a call whose caller gave up waiting for it (the call is
	// still sent), to undo what the caller no longer will.
	abandoned func(rdb redis.UniversalClient, op *batchOp, r batchResult)
}

type batchResult struct {
	val any
	err error
}

const (
	// maxBatch bounds one pipeline.
	maxBatch = 256
	// maxMerged bounds the calls merged into one script call.
	maxMerged = 64
)

// newBatcher returns a batcher. Without a linger one pipeline is on the wire
// at a time and calls queue up behind it. With one, a single batch gathers
// calls at a time, for up to linger or until flushAt calls wait (0: no
// early flush), while up to three earlier batches are on the wire.
func newBatcher(rdb redis.UniversalClient, linger time.Duration, flushAt int) *batcher {
	inflight := 1
	if linger > 0 {
		inflight = 4
	}
	return &batcher{rdb: rdb, linger: linger, maxInflight: inflight, flushAt: flushAt, full: make(chan struct{}, 1)}
}

// close waits for the queued calls to be sent, without lingering. Calls made
// after close run one by one.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select { // end a linger now
	case b.full <- struct{}{}:
	default:
	}
	b.senders.Wait()
}

// run queues one script call and waits for its reply or for ctx. A call
// whose caller gave up is still sent.
func (b *batcher) run(ctx context.Context, op *batchOp) (any, error) {
	op.res = make(chan batchResult, 1)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return op.script.Run(ctx, b.rdb, op.keys, op.args...).Result()
	}
	b.queue = append(b.queue, op)
	lead := !b.gathering && b.inflight < b.maxInflight
	if lead {
		b.gathering = true
		b.inflight++
		b.senders.Add(1)
	} else if b.gathering && b.flushAt > 0 && len(b.queue) >= b.flushAt {
		select { // wake the lingering sender
		case b.full <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()
	if lead {
		if b.sendBatch() {
			// Calls queued while the pipeline was out: a goroutine keeps
			// the slot and sends them, so this caller returns now.
			go b.sendAll()
		}
	}
	select {
	case r := <-op.res:
		return r.val, r.err
	case <-ctx.Done():
		if op.abandoned != nil {
			go func() {
				t := time.NewTimer(time.Minute) // exec answers within its 10 s
				defer t.Stop()
				select {
				case r := <-op.res:
					op.abandoned(b.rdb, op, r)
				case <-t.C:
				}
			}()
		}
		return nil, ctx.Err()
	}
}

// sendAll sends batches while calls keep queueing, then frees its slot.
func (b *batcher) sendAll() {
	for b.sendBatch() {
	}
}

// sendBatch sends one batch from the queue (after the linger, if any) and
// reports whether the caller keeps the pipeline slot, to gather and send the
// calls that queued meanwhile; if not, the slot is freed.
func (b *batcher) sendBatch() (more bool) {
	if b.linger > 0 {
		b.mu.Lock()
		wait := !b.closed && (b.flushAt <= 0 || len(b.queue) < b.flushAt)
		b.mu.Unlock()
		if wait {
			t := time.NewTimer(b.linger)
			select {
			case <-t.C:
			case <-b.full:
				t.Stop()
			}
		}
	}
	b.mu.Lock()
	select { // a wake-up meant for this batch, or one that came too late
	case <-b.full:
	default:
	}
	b.gathering = false
	n := min(len(b.queue), maxBatch)
	batch := make([]*batchOp, n)
	copy(batch, b.queue)
	rest := copy(b.queue, b.queue[n:])
	clear(b.queue[rest:])
	b.queue = b.queue[:rest]
	b.mu.Unlock()
	if n > 0 {
		b.exec(batch)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) > 0 && !b.gathering {
		b.gathering = true
		return true
	}
	b.inflight--
	b.senders.Done()
	return false
}

// call is one script call of a pipeline: one op, or several merged.
type call struct {
	script *redis.Script
	keys   []string
	args   []any
	ops    []*batchOp
	merged bool
	merge  string // the ops' merge key, when merged
	cmd    *redis.Cmd
}

// plan groups a batch into calls, merging what can be merged.
func plan(batch []*batchOp) []*call {
	calls := make([]*call, 0, 4)
	for _, op := range batch {
		if op.merge == "" {
			calls = append(calls, &call{script: op.script, keys: op.keys, args: op.args, ops: []*batchOp{op}})
			continue
		}
		// The open call of this merge key: the last one made for it (a
		// batch holds few keys, usually one Page's reserves and marks).
		var c *call
		for i := len(calls) - 1; i >= 0; i-- {
			if calls[i].merge == op.merge {
				c = calls[i]
				break
			}
		}
		if c == nil || c.script != op.script || len(c.ops) >= maxMerged {
			c = &call{script: op.script, merged: true, merge: op.merge,
				keys: append(make([]string, 0, op.sharedKeys+len(batch)*(len(op.keys)-op.sharedKeys)), op.keys[:op.sharedKeys]...),
				args: append(make([]any, 0, op.sharedArgs+len(batch)*(len(op.args)-op.sharedArgs)), op.args[:op.sharedArgs]...),
				ops:  make([]*batchOp, 0, len(batch))}
			calls = append(calls, c)
		}
		c.keys = append(c.keys, op.keys[op.sharedKeys:]...)
		c.args = append(c.args, op.args[op.sharedArgs:]...)
		c.ops = append(c.ops, op)
	}
	return calls
}

func (b *batcher) exec(batch []*batchOp) {
	// The callers' contexts only bound their own wait; the pipeline has its own.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	calls := plan(batch)
	b.pipelines.Add(1)
	b.scripts.Add(int64(len(calls)))
	b.ops.Add(int64(len(batch)))
	b.onWire.Add(1)
	defer b.onWire.Add(-1)
	pipe := b.rdb.Pipeline()
	for _, c := range calls {
		c.cmd = c.script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	_, _ = pipe.Exec(ctx) // errors are read per command
	for _, c := range calls {
		val, err := c.cmd.Result()
		if err != nil && isNoScript(err) {
			val, err = c.script.Run(ctx, b.rdb, c.keys, c.args...).Result()
		}
		if !c.merged {
			c.ops[0].res <- batchResult{val: val, err: err}
			continue
		}
		each, _ := val.([]any)
		stride := max(1, c.ops[0].stride)
		for i, op := range c.ops {
			switch {
			case err != nil:
				op.res <- batchResult{err: err}
			case (i+1)*stride <= len(each):
				op.res <- batchResult{val: each[i*stride : (i+1)*stride : (i+1)*stride]}
			default:
				op.res <- batchResult{err: errors.New("merged script call: short reply")}
			}
		}
	}
}

func isNoScript(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "NOSCRIPT")
}
