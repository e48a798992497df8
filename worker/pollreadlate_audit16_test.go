package worker_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
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
	srv := redisproc.Start(t, redisproc.Options{})
	h := newHarnessOn(t, sandbox.Options{Pages: 1, Seed: 1612, ReadRate: 14}, &redistest.DB{Addr: srv.Addr(), Client: srv.Client()})
	pages := pollPages(h)
	pages[0].Rate, pages[0].Burst = config.Rate{N: 10, Per: time.Second}, 1
	pages[0].DefaultText = "Thanks!"
	page := pages[0]
	pl := worker.NewPoller(h.pollParams(pages))
	post := h.sb.AddPost(page.ID, sandbox.User{ID: page.ID}, "A post", time.Now().Add(-time.Hour))
	const n = 20
	var items []tasks.WebhookItem
	for i := range n {
		id := h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(7161000 + i), Name: "Visitor " + strconv.Itoa(i)}, "hello", time.Now().Add(-time.Minute))
		items = append(items, tasks.WebhookItem{PageID: page.ID, Kind: tasks.KindComment, ID: id, PostID: post})
	}
	ctx := context.Background()
	lim := worker.LimitOf(&page, 0)
	next := func() time.Time {
		t.Helper()
		wait, err := h.ledger.TakeReadWithin(ctx, page.ID, "reads", lim, time.Microsecond)
		if err != nil && !errors.Is(err, tasks.ErrReadLater) {
			t.Fatal(err)
		}
		return time.Now().Add(wait)
	}
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
	if got := h.sb.ThrottledCount(page.ID); got != 0 {
		t.Errorf("Graph throttled %d of the Page's calls: the poll's late read came with others", got)
	}
	if p, _, err := h.ledger.Paused(ctx, page.ID); err != nil || p > 0 {
		t.Errorf("the Page is paused for %s (%v)", p, err)
	}
	t.Logf("calls %v", h.sb.Calls())
}
