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

// TestItemReadsAfterRedisAwayStayPaced_audit15: webhook items waiting for
// their read slots when Redis stops answering for a moment (frozen, as
// `redis-cli debug sleep` does, or restarted) check the Page's pause once
// their slot comes, and those checks all return when Redis is back. Their
// reads then went to Graph at once, as many as slots came due meanwhile,
// past the Page's read limit: a soak saw an 80001 pause on every Page a
// second after each such pause of Redis. A check answered that late takes a
// new slot, so the reads stay on the Page's schedule: Graph, which allows
// the Page's rate and a margin, throttles none of them.
func TestItemReadsAfterRedisAwayStayPaced_audit15(t *testing.T) {
	t.Parallel() // mostly waits with Redis frozen
	h, srv := frozenReadsHarness(t, 1511)
	pages := pacedPollPages(h)
	page := pages[0]
	pl := worker.NewPoller(h.pollParams(pages))
	items := commentItems(h, page.ID, 24, 7151000)
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = processItem(t, pl, it) // an item put back for a far slot is fine
		}()
	}
	// The items book their slots (2 s of them at 10 a second) at once;
	// Redis then stops answering until all of them have come due.
	time.Sleep(300 * time.Millisecond)
	srv.Pause()
	time.Sleep(3 * time.Second)
	srv.Resume()
	wg.Wait()
	wantPageUnthrottled(t, h, page.ID, "the items' reads due while Redis was away went at once")
}

// frozenReadsHarness starts a harness over a Redis of its own, for the
// test to freeze (srv.Pause) while replies or items wait for their read
// slots; its sandbox allows the Page 14 reads a second.
func frozenReadsHarness(t *testing.T, seed int64) (*harness, *redisproc.Server) {
	t.Helper()
	return frozenReadsHarnessAt(t, seed, 14)
}

// frozenReadsHarnessAt is frozenReadsHarness with the sandbox allowing the
// Page readRate reads a second.
func frozenReadsHarnessAt(t *testing.T, seed int64, readRate float64) (*harness, *redisproc.Server) {
	t.Helper()
	srv := redisproc.Start(t, redisproc.Options{})
	return newHarnessOn(t, sandbox.Options{Pages: 1, Seed: seed, ReadRate: readRate}, &redistest.DB{Addr: srv.Addr(), Client: srv.Client()}), srv
}

// pacedPollPages is the harness's Page as a poller has it, at 10 reads and
// sends a second (burst 1), answering every comment.
func pacedPollPages(h *harness) []config.Page {
	pages := pollPages(h)
	pages[0].Rate, pages[0].Burst = config.Rate{N: 10, Per: time.Second}, 1
	pages[0].DefaultText = "Thanks!"
	return pages
}

// commentItems adds a post of page with n comments, by visitors whose ids
// count from base, and returns their webhook items.
func commentItems(h *harness, page string, n, base int) []tasks.WebhookItem {
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "A post", time.Now().Add(-time.Hour))
	var items []tasks.WebhookItem
	for i := range n {
		id := h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(base + i), Name: "Visitor " + strconv.Itoa(i)}, "hello", time.Now().Add(-time.Minute))
		items = append(items, tasks.WebhookItem{PageID: page, Kind: tasks.KindComment, ID: id, PostID: post})
	}
	return items
}

// nextFreeRead returns when page's read schedule has its next free slot,
// booking nothing.
func nextFreeRead(t *testing.T, h *harness, page string, lim tasks.Limit) time.Time {
	t.Helper()
	wait, err := h.ledger.TakeReadWithin(context.Background(), page, "reads", lim, time.Microsecond)
	if err != nil && !errors.Is(err, tasks.ErrReadLater) {
		t.Fatal(err)
	}
	return time.Now().Add(wait)
}

// wantPageUnthrottled fails t if Graph throttled any of page's calls
// (what says what that means) or the Page is paused.
func wantPageUnthrottled(t *testing.T, h *harness, page, what string) {
	t.Helper()
	if got := h.sb.ThrottledCount(page); got != 0 {
		t.Errorf("Graph throttled %d of the Page's calls: %s", got, what)
	}
	if p, _, err := h.ledger.Paused(context.Background(), page); err != nil || p > 0 {
		t.Errorf("the Page is paused for %s (%v)", p, err)
	}
}
