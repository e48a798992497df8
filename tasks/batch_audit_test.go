package tasks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

// batchWait is how long a test waits on a batching ledger before it calls
// the batcher stuck: twice a pipeline's own timeout (10 s),
// far shorter than the package's test timeout, which a stuck batcher (a
// batch never sent, a sender that keeps its slot, a caller never woken)
// would otherwise run out, failing the whole package with a goroutine dump
// instead of the test that hangs.
const batchWait = 20 * time.Second

// state describes the batcher for a test that finds it stuck.
func (b *batcher) state() string {
	if b == nil {
		return "no batcher"
	}
	if !b.mu.TryLock() {
		return "its mutex held"
	}
	defer b.mu.Unlock()
	return fmt.Sprintf("%d calls queued, %d of %d pipeline slots taken, gathering %v, closed %v; %d pipelines sent, %d on the wire",
		len(b.queue), b.inflight, b.maxInflight, b.gathering, b.closed, b.pipelines.Load(), b.onWire.Load())
}

// newBatchedLedger returns a batching ledger on rdb (opts, with Batch set)
// and a context for its calls, which bounds them by batchWait: a call the
// batcher never answers fails the test, which then says the batcher is stuck
// and how, instead of hanging. The ledger is closed at cleanup, within
// batchWait too.
func newBatchedLedger(t *testing.T, rdb redis.UniversalClient, opts LedgerOptions) (*Ledger, context.Context) {
	t.Helper()
	opts.Batch = true
	l := NewLedger(rdb, opts)
	ctx, cancel := context.WithTimeout(context.Background(), batchWait)
	t.Cleanup(func() {
		stuck := ctx.Err() != nil
		cancel()
		if stuck {
			t.Errorf("batched ledger calls unanswered after %s: the batcher is stuck (%s)", batchWait, l.batch.state())
		}
		if !t.Failed() { // a Close that hung once would hang again
			closeWithin(t, l)
		}
	})
	return l, ctx
}

// closeWithin closes l, failing the test if Close has not returned within
// batchWait (a sender that never frees its slot).
func closeWithin(t *testing.T, l *Ledger) {
	t.Helper()
	done := make(chan struct{})
	go func() { l.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(batchWait):
		t.Errorf("Close did not return within %s: a queued call was left without a sender (%s)", batchWait, l.batch.state())
	}
}

// waitBatcher polls until ok holds of l's batcher (called with its mutex
// held), failing the test if it does not within batchWait.
func waitBatcher(t *testing.T, l *Ledger, what string, ok func(*batcher) bool) {
	t.Helper()
	deadline := time.Now().Add(batchWait)
	for {
		l.batch.mu.Lock()
		done := ok(l.batch)
		l.batch.mu.Unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("batcher not %s after %s (%s)", what, batchWait, l.batch.state())
		}
		time.Sleep(time.Millisecond)
	}
}

// queued reports whether at least n calls wait in b's queue.
func queued(n int) func(*batcher) bool {
	return func(b *batcher) bool { return len(b.queue) >= n }
}

// TestPlanMergesOneScriptUpToMaxMerged: plan merges calls of one merge key
// only with the same script (a script takes only its own calls' keys and
// arguments), and no more than maxMerged into one script call.
func TestPlanMergesOneScriptUpToMaxMerged(t *testing.T) {
	op := func(s *redis.Script) *batchOp {
		return &batchOp{script: s, merge: "p", sharedKeys: 1, sharedArgs: 1, keys: []string{"shared", "k"}, args: []any{"shared", "v"}}
	}
	if calls := plan([]*batchOp{op(markManyScript), op(reserveScript)}); len(calls) != 2 || calls[0].script != markManyScript || calls[1].script != reserveScript {
		t.Errorf("two scripts of one merge key planned as %d calls, want one each", len(calls))
	}
	batch := make([]*batchOp, maxMerged+1)
	for i := range batch {
		batch[i] = op(markManyScript)
	}
	calls := plan(batch)
	if len(calls) != 2 || len(calls[0].ops) != maxMerged || len(calls[1].ops) != 1 {
		t.Fatalf("%d calls of one merge key planned as %d script calls, want %d merged and 1", len(batch), len(calls), maxMerged)
	}
}

// heldBatcher returns a batching ledger (linger an hour, flush at 2) whose
// pipelines wait on the wire until release is closed, and a reserve that
// sends one call and passes its result on res.
func heldBatcher(t *testing.T) (l *Ledger, hold holdPipelines, reserve func(id string), res chan error) {
	t.Helper()
	db := redistest.New(t)
	rdb := redis.NewClient(&redis.Options{Addr: db.Addr, DB: db.DB})
	t.Cleanup(func() { _ = rdb.Close() })
	hold = holdPipelines{held: make(chan struct{}, 8), release: make(chan struct{})}
	rdb.AddHook(hold)
	l, ctx := newBatchedLedger(t, rdb, LedgerOptions{Linger: time.Hour, FlushAt: 2})
	res = make(chan error, 8)
	reserve = func(id string) {
		_, err := l.Reserve(ctx, "1", Target{Kind: KindComment, ID: id}, "tok", time.Minute, Limit{})
		res <- err
	}
	return l, hold, reserve, res
}

// TestBatcherOneGathererAtClose: a sender whose pipeline is answered while
// another batch gathers frees its slot rather than gather too: Close ends one
// linger, and a second one would hold Close for the hour.
func TestBatcherOneGathererAtClose(t *testing.T) {
	l, hold, reserve, res := heldBatcher(t)
	go reserve("a")
	go reserve("b")
	waitBatcher(t, l, "sending the first pair", func(*batcher) bool { return len(hold.held) == 1 })
	go reserve("c") // leads the next batch, which lingers
	waitBatcher(t, l, "gathering the next batch", func(b *batcher) bool { return b.gathering && len(b.queue) == 1 })
	close(hold.release)
	waitBatcher(t, l, "freeing the first pipeline's slot", func(b *batcher) bool { return b.inflight == 1 && b.onWire.Load() == 0 })
	closeWithin(t, l)
	for range 3 {
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}
}
