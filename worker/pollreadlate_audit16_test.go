package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/worker"
)

// TestPollReadAfterRedisAwayStaysPaced_audit16: a poll whose read slot
// comes due while Redis stops answering for a moment, beside webhook items
// waiting for theirs on the same Page, takes a new slot once its late pause
// check returns, as the items do (TestItemReadsAfterRedisAwayStayPaced_audit15,
// TestPollReadAfterRedisAwayRetakes_audit17): Graph, which allows the Page's
// rate and a margin, throttles none of the Page's reads.
func TestPollReadAfterRedisAwayStaysPaced_audit16(t *testing.T) {
	t.Parallel() // mostly waits with Redis frozen
	h, srv := frozenReadsHarness(t, 1612)
	pollAfterRedisAway(t, h, srv, pacedPollPages(h), 20, 7161000)
}

// pollAfterRedisAway polls the first of pages (h's Page, as a poller has it)
// while n webhook items, by visitors whose ids count from base, wait for
// their read slots (n small enough that every item's slot is within the 2 s
// an item may wait), freezes srv until every booked slot, the poll's too,
// has come due, and fails t if Graph throttled any of the Page's reads.
func pollAfterRedisAway(t *testing.T, h *harness, srv *redisproc.Server, pages []config.Page, n, base int) {
	t.Helper()
	page := pages[0]
	pl := worker.NewPoller(h.pollParams(pages))
	items := commentItems(h, page.ID, n, base)
	ctx := context.Background()
	lim := worker.LimitOf(&page, 0)
	next := func() time.Time { return nextFreeRead(t, h, page.ID, lim) }
	start := time.Now()
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Go(func() { _ = processItem(t, pl, it) }) // an item put back for a far slot is fine
	}
	// The items book their slots (2 s or more of them, Burst+1 at once);
	// the poll books its first after them.
	booked := start.Add(time.Duration(n-lim.Burst) * lim.Interval)
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
	// come due, and the schedule has fallen behind the clock (as after a
	// `DEBUG SLEEP 3`): the reads taking new slots then get the Page's
	// burst at once.
	behind := next().Add(time.Duration(lim.Burst) * lim.Interval)
	srv.Pause()
	time.Sleep(time.Until(behind) + 300*time.Millisecond)
	srv.Resume()
	wg.Wait()
	if err := <-polled; err != nil {
		t.Logf("poll: %v", err)
	}
	wantPageUnthrottled(t, h, page.ID, "the poll's late read came with others")
	t.Logf("calls %v", h.sb.Calls())
}
