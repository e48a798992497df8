package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// TestDoubtReadsAfterRedisAwayStayPaced_audit16: the doubt checks of
// replies waiting for their read slots (a worker killed mid-send leaves its
// claims to lapse together) when Redis stops answering for a moment (frozen,
// as `redis-cli debug sleep` does, or restarted) check the Page's pause once
// their slot comes, and those checks all return when Redis is back. Their
// reads of the comments then went to Graph at once, as many as slots came
// due meanwhile, past the Page's read limit (80001), as the webhook items'
// did before TestItemReadsAfterRedisAwayStayPaced_audit15. A check answered
// that late takes a new slot, so the reads stay on the Page's schedule:
// Graph, which allows the Page's rate and a margin, throttles none of them.
func TestDoubtReadsAfterRedisAwayStayPaced_audit16(t *testing.T) {
	t.Parallel() // mostly waits with Redis frozen
	h, srv := frozenReadsHarness(t, 1611)
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 10, Per: time.Second}, 1
	page := h.pages[0].ID
	const n = 18
	rs := h.addComments(page, n, "Thanks for your comment!")
	for _, r := range rs {
		h.lostAnswer(t, r)
	}
	// The Page's read schedule is booked 2.7 s ahead (the webhook items'
	// reads): each reply, past its send slot (10 a second), waits for a
	// read slot within the 3 s it may wait, the first one's after the last
	// one took its own.
	ctx := context.Background()
	lim := worker.LimitOf(&h.pages[0], 0)
	const ahead = 27
	start := time.Now()
	for range ahead {
		if _, err := h.ledger.TakeReadKey(ctx, page, "reads", lim); err != nil {
			t.Fatal(err)
		}
	}
	// next returns when the schedule's next free slot is (booking nothing).
	next := func() time.Time { return nextFreeRead(t, h, page, lim) }
	h.enqueueAll(t, rs)
	h.startWorkerOn(t, h.opt, n+8, func(p *worker.Params) { p.MaxWait = 3 * time.Second })
	booked := start.Add(time.Duration(ahead+n-1) * lim.Interval)
	for deadline := time.Now().Add(30 * time.Second); next().Before(booked); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the replies did not all take a read slot (queues: %s)", h.queueSummary())
		}
	}
	if n := h.sb.Calls()[sandbox.EndpointObject]; n != 0 {
		t.Logf("%d doubt checks read before Redis froze (a slow run): fewer wait through it", n)
	}
	// Redis stops answering until every one of those slots has come due
	// (the last one booked is an interval before the next free one).
	last := next().Add(-lim.Interval)
	srv.Pause()
	time.Sleep(time.Until(last) + 200*time.Millisecond)
	srv.Resume()
	for deadline := time.Now().Add(30 * time.Second); h.sb.Calls()[sandbox.EndpointObject] < n && h.sb.ThrottledCount(page) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d doubt checks read Graph (queues: %s)", h.sb.Calls()[sandbox.EndpointObject], n, h.queueSummary())
		}
	}
	if got := h.sb.ThrottledCount(page); got != 0 {
		t.Fatalf("Graph throttled %d of the Page's calls: the doubt checks due while Redis was away read at once", got)
	}
	h.waitSent(t, rs, 60*time.Second)
	h.checkExactlyOnce(t, rs)
	wantPageUnthrottled(t, h, page, "the doubt checks due while Redis was away read at once")
}
