package worker_test

import (
	"context"
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
	srv := redisproc.Start(t, redisproc.Options{})
	h := newHarnessOn(t, sandbox.Options{Pages: 1, Seed: 1511, ReadRate: 14}, &redistest.DB{Addr: srv.Addr(), Client: srv.Client()})
	pages := pollPages(h)
	pages[0].Rate, pages[0].Burst = config.Rate{N: 10, Per: time.Second}, 1
	pages[0].DefaultText = "Thanks!"
	page := pages[0]
	pl := worker.NewPoller(h.pollParams(pages))
	post := h.sb.AddPost(page.ID, sandbox.User{ID: page.ID}, "A post", time.Now().Add(-time.Hour))
	const n = 24
	var items []tasks.WebhookItem
	for i := range n {
		id := h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(7151000 + i), Name: "Visitor " + strconv.Itoa(i)}, "hello", time.Now().Add(-time.Minute))
		items = append(items, tasks.WebhookItem{PageID: page.ID, Kind: tasks.KindComment, ID: id, PostID: post})
	}
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
	if got := h.sb.ThrottledCount(page.ID); got != 0 {
		t.Errorf("Graph throttled %d of the Page's calls: the items' reads due while Redis was away went at once", got)
	}
	if p, _, err := h.ledger.Paused(context.Background(), page.ID); err != nil || p > 0 {
		t.Errorf("the Page is paused for %s (%v)", p, err)
	}
}
