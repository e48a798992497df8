package tasks

import (
	"context"
	"errors"
	"strings"
	"sync"
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
type batcher struct {
	rdb  redis.UniversalClient
	ops  chan *batchOp
	once sync.Once
	stop chan struct{}
	done sync.WaitGroup
	// inflight bounds the pipelines on the wire at once.
	inflight chan struct{}
	// linger is how long a batch's first call waits for others (0: none).
	linger time.Duration

	// mu orders queueing against close: run queues under the read lock, and
	// close sets closed under the write lock before it stops the loop, so no
	// call is queued after the loop's last drain.
	mu     sync.RWMutex
	closed bool
}

// batchOp is one script call. Calls with the same script and a non-empty
// merge key share their first sharedKeys keys and sharedArgs arguments, and
// the script takes any number of the rest (a fixed number each) and returns
// one reply per call: such calls are merged into one.
type batchOp struct {
	script                 *redis.Script
	keys                   []string
	args                   []any
	merge                  string
	sharedKeys, sharedArgs int
	res                    chan batchResult
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
// at a time and calls queue up behind it; with one, up to four, each
// gathering calls for up to linger.
func newBatcher(rdb redis.UniversalClient, linger time.Duration) *batcher {
	inflight := 1
	if linger > 0 {
		inflight = 4
	}
	return &batcher{rdb: rdb, ops: make(chan *batchOp, maxBatch*2), stop: make(chan struct{}),
		inflight: make(chan struct{}, inflight), linger: linger}
}

func (b *batcher) start() {
	b.once.Do(func() {
		b.done.Add(1)
		go b.loop()
	})
}

// close stops the loop after every queued call was sent. Calls made after
// close run one by one.
func (b *batcher) close() {
	b.start()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	b.done.Wait()
}

// run queues one script call and waits for its reply or for ctx.
func (b *batcher) run(ctx context.Context, op *batchOp) (any, error) {
	b.start()
	op.res = make(chan batchResult, 1)
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return op.script.Run(ctx, b.rdb, op.keys, op.args...).Result()
	}
	select {
	case b.ops <- op:
		b.mu.RUnlock()
	case <-ctx.Done():
		b.mu.RUnlock()
		return nil, ctx.Err()
	}
	select {
	case r := <-op.res:
		return r.val, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *batcher) loop() {
	defer b.done.Done()
	var sent sync.WaitGroup
	defer sent.Wait()
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		var op *batchOp
		select {
		case op = <-b.ops:
		case <-b.stop:
			var rest []*batchOp
			for {
				select {
				case op = <-b.ops:
					rest = append(rest, op)
					continue
				default:
				}
				break
			}
			if len(rest) > 0 {
				b.exec(rest)
			}
			return
		}
		// Wait for a free pipeline slot first: calls queue up meanwhile and
		// go out together, so batches grow with the load and add no wait
		// when there is none.
		b.inflight <- struct{}{}
		batch := make([]*batchOp, 1, 16) // grows with the load, up to maxBatch
		batch[0] = op
		if b.linger > 0 {
			linger.Reset(b.linger)
		}
	fill:
		for len(batch) < maxBatch {
			if b.linger > 0 {
				select {
				case op = <-b.ops:
					batch = append(batch, op)
				case <-linger.C:
					break fill
				case <-b.stop:
					break fill
				}
				continue
			}
			select {
			case op = <-b.ops:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		if b.linger > 0 && !linger.Stop() {
			select {
			case <-linger.C:
			default:
			}
		}
		sent.Add(1)
		go func() {
			defer func() { <-b.inflight; sent.Done() }()
			b.exec(batch)
		}()
	}
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
		for i, op := range c.ops {
			switch {
			case err != nil:
				op.res <- batchResult{err: err}
			case i < len(each):
				op.res <- batchResult{val: []any{each[i]}}
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
