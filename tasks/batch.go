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
// together: while one pipeline is on the wire, the calls that arrive meanwhile
// queue up and go out in the next. A reply then costs far less than the two
// round trips (reserve, mark) it would cost alone, which is most of the
// pipeline's overhead over bare asynq (see `pagereply bench pipeline`).
type batcher struct {
	rdb  redis.UniversalClient
	ops  chan *batchOp
	once sync.Once
	stop chan struct{}
	done sync.WaitGroup

	// mu orders queueing against close: run queues under the read lock, and
	// close sets closed under the write lock before it stops the loops, so no
	// call is queued after the loops' last drain.
	mu     sync.RWMutex
	closed bool
}

type batchOp struct {
	script *redis.Script
	keys   []string
	args   []any
	res    chan batchResult
}

type batchResult struct {
	val any
	err error
}

// maxBatch bounds one pipeline.
const maxBatch = 256

// batchLoops is how many pipelines may be on the wire at once.
const batchLoops = 2

func newBatcher(rdb redis.UniversalClient) *batcher {
	return &batcher{rdb: rdb, ops: make(chan *batchOp, maxBatch*batchLoops), stop: make(chan struct{})}
}

func (b *batcher) start() {
	b.once.Do(func() {
		for i := 0; i < batchLoops; i++ {
			b.done.Add(1)
			go b.loop()
		}
	})
}

// close stops the loops after they have sent every queued call. Calls made
// after close run one by one.
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
func (b *batcher) run(ctx context.Context, s *redis.Script, keys []string, args ...any) (any, error) {
	b.start()
	op := &batchOp{script: s, keys: keys, args: args, res: make(chan batchResult, 1)}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return s.Run(ctx, b.rdb, keys, args...).Result()
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
	batch := make([]*batchOp, 0, maxBatch)
	for {
		var op *batchOp
		select {
		case op = <-b.ops:
		case <-b.stop:
			for {
				select {
				case op = <-b.ops:
					b.exec([]*batchOp{op})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], op)
	fill:
		for len(batch) < maxBatch {
			select {
			case op = <-b.ops:
				batch = append(batch, op)
			default:
				break fill
			}
		}
		b.exec(batch)
	}
}

func (b *batcher) exec(batch []*batchOp) {
	// The callers' contexts only bound their own wait; the pipeline has its own.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pipe := b.rdb.Pipeline()
	cmds := make([]*redis.Cmd, len(batch))
	for i, op := range batch {
		cmds[i] = op.script.EvalSha(ctx, pipe, op.keys, op.args...)
	}
	_, _ = pipe.Exec(ctx) // errors are read per command
	for i, op := range batch {
		val, err := cmds[i].Result()
		if err != nil && isNoScript(err) {
			val, err = op.script.Run(ctx, b.rdb, op.keys, op.args...).Result()
		}
		op.res <- batchResult{val: val, err: err}
	}
}

func isNoScript(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "NOSCRIPT")
}
