package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/worker"
)

// TestPollReadAfterRedisAwayStaysPaced_audit16: a poll whose read slot
// comes due while Redis stops answering for a moment, beside webhook items
// waiting for theirs on the same Page, reads once its late pause check
// returns, keeping its slot (the items take new ones,
// TestItemReadsAfterRedisAwayStayPaced_audit15). A Page's poll makes one
// read at a time (its lease keeps it to one poll), so that is one read out
// of turn, not one per slot that came due meanwhile: Graph, which allows
// the Page's rate and a margin, throttles none of the Page's reads.
func TestPollReadAfterRedisAwayStaysPaced_audit16(t *testing.T) {
	t.Parallel() // mostly waits with Redis frozen
	h, srv := frozenReadsHarness(t, 1612)
	pages := pacedPollPages(h)
	page := pages[0]
	pl := worker.NewPoller(h.pollParams(pages))
	const n = 20
	items := commentItems(h, page.ID, n, 7161000)
	ctx := context.Background()
	lim := worker.LimitOf(&page, 0)
	next := func() time.Time { return nextFreeRead(t, h, page.ID, lim) }
	start := time.Now()
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Go(func() { _ = processItem(t, pl, it) }) // an item put back for a far slot is fine
	}
	// The items book their slots (2 s of them at 10 a second); the poll
	// books its first after them.
	booked := start.Add(time.Duration(n-1) * lim.Interval)
	for deadline := time.Now().Add(30 * time.Second); next().Before(booked); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the items did not all take a read slot")
		}
	}
	polled := make(chan error, 1)
	go func() {
		_, err := pl.Poll(ctx, page.ID, false)
		polled <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); next().Before(booked.Add(lim.Interval)); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the poll did not take a read slot")
		}
	}
	// Redis stops answering until every booked slot, the poll's too, has
	// come due.
	last := next().Add(-lim.Interval)
	srv.Pause()
	time.Sleep(time.Until(last) + 300*time.Millisecond)
	srv.Resume()
	wg.Wait()
	if err := <-polled; err != nil {
		t.Logf("poll: %v", err)
	}
	wantPageUnthrottled(t, h, page.ID, "the poll's late read came with others")
	t.Logf("calls %v", h.sb.Calls())
}
