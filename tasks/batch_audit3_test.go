package tasks

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestBatcherErrorsReachTheirCallers: in one pipeline, a merged script call
// that fails (one Page's MarkSent calls, one entry of which Redis refuses)
// fails every call merged into it, a lone call that fails fails its caller,
// each with Redis's error, and the calls beside them in the pipeline
// succeed: no caller is told its reply is marked when it is not, and no
// error spreads to another Page.
func TestBatcherErrorsReachTheirCallers(t *testing.T) {
	db := redistest.New(t)
	l, ctx := newBatchedLedger(t, db.Client, LedgerOptions{Linger: time.Hour, FlushAt: 5})
	bad := Target{Kind: KindComment, ID: "bad"}
	if err := db.Client.HSet(ctx, l.entryKey("1", bad), "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	if err := db.Client.HSet(ctx, l.entryKey("3", bad), "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	good := Target{Kind: KindComment, ID: "good"}
	type call struct {
		name    string
		wantErr bool
		do      func() error
	}
	calls := []call{
		{"page 1 good", true, func() error { return l.MarkSent(ctx, "1", good, "m_good") }},
		{"page 1 bad", true, func() error { return l.MarkSent(ctx, "1", bad, "m_bad") }},
		{"page 1 other", true, func() error { return l.MarkSent(ctx, "1", Target{Kind: KindComment, ID: "other"}, "m_o") }},
		{"page 2", false, func() error { return l.MarkSent(ctx, "2", good, "m_2") }},
		{"page 3 failed mark", true, func() error { return l.MarkFailed(ctx, "3", bad, "gone") }},
	}
	errs := make([]error, len(calls))
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.do() }()
	}
	wg.Wait()
	if st := l.BatchStats(); st.Pipelines != 1 || st.Calls != int64(len(calls)) {
		t.Fatalf("batch stats %+v, want the %d calls in one pipeline", st, len(calls))
	}
	for i, c := range calls {
		if (errs[i] != nil) != c.wantErr {
			t.Errorf("%s: error %v, want error %v", c.name, errs[i], c.wantErr)
		}
		// Each failed caller is told Redis's own error, not some other.
		if errs[i] != nil && !strings.Contains(errs[i].Error(), "WRONGTYPE") {
			t.Errorf("%s: error %v, want Redis's WRONGTYPE", c.name, errs[i])
		}
	}
	if e, err := l.Get(ctx, "2", good); err != nil || e.Status != StatusSent {
		t.Errorf("page 2's mark beside the failed calls: %+v %v, want sent", e, err)
	}
}

// batchEcho is a script merged by the batcher that returns its arguments.
var batchEcho = redis.NewScript(`return ARGV`)

// batchShort is a script merged by the batcher that answers one value
// whatever the number of calls merged into it.
var batchShort = redis.NewScript(`return {ARGV[1]}`)

// runMerged runs one op per value in vals through a batcher that sends them
// all in one pipeline, merged (merge key "m", stride), and returns each
// caller's answer.
func runMerged(t *testing.T, s *redis.Script, stride int, vals ...string) ([]any, []error) {
	t.Helper()
	db := redistest.New(t)
	b := newBatcher(db.Client, time.Hour, len(vals))
	t.Cleanup(b.close)
	ctx, cancel := context.WithTimeout(context.Background(), batchWait)
	defer cancel()
	got, errs := make([]any, len(vals)), make([]error, len(vals))
	var wg sync.WaitGroup
	for i, v := range vals {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = b.run(ctx, &batchOp{script: s, keys: []string{"k" + v}, args: []any{v}, merge: "m", stride: stride})
		}()
	}
	wg.Wait()
	if n := b.scripts.Load(); n != 1 {
		t.Fatalf("%d calls sent as %d script calls, want one merged", len(vals), n)
	}
	return got, errs
}

// TestBatcherMergedReplySplit: a merged call's reply is split among its
// callers in order, one value each when their stride is 0; a reply too short
// for a caller is an error to that caller, not an empty answer.
func TestBatcherMergedReplySplit(t *testing.T) {
	got, errs := runMerged(t, batchEcho, 0, "a", "b", "c")
	for i, want := range []string{"a", "b", "c"} {
		v, _ := got[i].([]any)
		if errs[i] != nil || len(v) != 1 || v[0] != want {
			t.Errorf("caller %d: %v %v, want [%s]", i, got[i], errs[i], want)
		}
	}
	// The callers queue in either order: the first gets the one value
	// (its own argument), the other an error.
	got, errs = runMerged(t, batchShort, 1, "a", "b")
	answered := 0
	for i, want := range []string{"a", "b"} {
		if errs[i] != nil {
			continue
		}
		answered++
		if v, _ := got[i].([]any); len(v) != 1 || v[0] != want {
			t.Errorf("caller %d of a short reply: %v, want [%s]", i, got[i], want)
		}
	}
	if answered != 1 {
		t.Errorf("a reply of one value for two callers answered %d of them (%v %v), want the first, the other an error", answered, got, errs)
	}
}

// TestBatcherAfterCloseDoesNotLinger: calls made after Close run at once,
// one by one, on a ledger whose linger would otherwise hold them for the
// hour. (A second one too: the first may meet the wake-up Close left.)
func TestBatcherAfterCloseDoesNotLinger(t *testing.T) {
	db := redistest.New(t)
	l := NewLedger(db.Client, LedgerOptions{Batch: true, Linger: time.Hour})
	closeWithin(t, l)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, id := range []string{"after", "again"} {
		if r, err := l.Reserve(ctx, "1", Target{Kind: KindComment, ID: id}, "tok", time.Minute, Limit{}); err != nil || r.Outcome != ReserveGo {
			t.Fatalf("reserve %s after Close = %+v, %v; want it sent at once", id, r, err)
		}
	}
}

// TestBatcherCallerGivingUpInQueue: a MarkSent whose caller gives up while
// its call waits behind a pipeline on the wire returns the caller's context
// error (its mark is not known to be written), the mark is still sent, and
// the batcher, which then answers no one, goes on answering the next calls.
func TestBatcherCallerGivingUpInQueue(t *testing.T) {
	db := redistest.New(t)
	rdb := redis.NewClient(&redis.Options{Addr: db.Addr, DB: db.DB})
	t.Cleanup(func() { _ = rdb.Close() })
	hold := holdPipelines{held: make(chan struct{}, 64), release: make(chan struct{})}
	rdb.AddHook(hold)
	l, ctx := newBatchedLedger(t, rdb, LedgerOptions{})
	res := make(chan error, 2)
	go func() { res <- l.MarkSent(ctx, "1", Target{Kind: KindComment, ID: "first"}, "m_first") }()
	waitBatcher(t, l, "sending the first mark", func(*batcher) bool { return len(hold.held) > 0 })
	gone := Target{Kind: KindComment, ID: "gone"}
	cctx, cancel := context.WithCancel(ctx)
	go func() { res <- l.MarkSent(cctx, "1", gone, "m_gone") }()
	waitBatcher(t, l, "holding the second mark behind it", queued(1))
	cancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("MarkSent given up in the queue: %v, want its context's error", err)
	}
	close(hold.release)
	if err := <-res; err != nil {
		t.Fatalf("the first mark: %v", err)
	}
	if err := l.MarkSent(ctx, "1", Target{Kind: KindComment, ID: "next"}, "m_next"); err != nil {
		t.Fatalf("the next mark: %v", err)
	}
	if e, err := l.Get(ctx, "1", gone); err != nil || e.Status != StatusSent {
		t.Fatalf("mark given up in the queue: %+v %v, want still written", e, err)
	}
}

// TestBatcherBoundsPipeline: calls queued past maxBatch go out in another
// pipeline, not in one without bound (whose answer could outlast the
// pipeline's timeout).
func TestBatcherBoundsPipeline(t *testing.T) {
	db := redistest.New(t)
	l, ctx := newBatchedLedger(t, db.Client, LedgerOptions{Linger: time.Hour})
	n := maxBatch + 1
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.MarkSent(ctx, "1", Target{Kind: KindComment, ID: "c" + strconv.Itoa(i)}, "m"); err != nil {
				t.Error(err)
			}
		}()
	}
	waitBatcher(t, l, "holding every call", queued(n))
	closeWithin(t, l)
	wg.Wait()
	if st := l.BatchStats(); st.Pipelines != 2 || st.Calls != int64(n) {
		t.Fatalf("batch stats %+v, want %d calls in 2 pipelines", st, n)
	}
}

// TestPlanFillsLastMergedCall: once a merged call holds maxMerged calls, the
// next ones of its merge key fill a new one, not a call each.
func TestPlanFillsLastMergedCall(t *testing.T) {
	batch := make([]*batchOp, 2*maxMerged+1)
	for i := range batch {
		batch[i] = &batchOp{script: markManyScript, merge: "p", sharedKeys: 1, sharedArgs: 1, keys: []string{"s", "k"}, args: []any{"ttl", "v"}}
	}
	if calls := plan(batch); len(calls) != 3 {
		t.Fatalf("%d calls of one merge key planned as %d script calls, want 3", len(batch), len(calls))
	}
}

// TestBatcherFlushAtQueuedMeanwhile: calls that queued while every pipeline
// slot was taken, as many as FlushAt, go as soon as a slot frees: the batch
// has them all, and waiting out the linger for more would hold them for it.
func TestBatcherFlushAtQueuedMeanwhile(t *testing.T) {
	l, hold, reserve, res := heldBatcher(t)
	for i := range 4 { // four pairs fill the four slots, each flushed at 2
		go reserve("a" + strconv.Itoa(i))
		go reserve("b" + strconv.Itoa(i))
		waitBatcher(t, l, "sending pair "+strconv.Itoa(i), func(*batcher) bool { return len(hold.held) == i+1 })
	}
	go reserve("late1")
	go reserve("late2")
	waitBatcher(t, l, "holding the late pair with no slot free", func(b *batcher) bool { return len(b.queue) == 2 && !b.gathering })
	close(hold.release)
	// Drain held, whose room the pipelines after the release would
	// otherwise fill.
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-hold.held:
			case <-done:
				return
			}
		}
	}()
	for range 10 {
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}
}
