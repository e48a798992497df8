package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestConversationReadsAfterRedisAwayStayPaced_audit16: requests (the API's,
// pagereply enqueue's) waiting for their slots of a Page's conversation
// reads when Redis stops answering for a moment (frozen, as `redis-cli
// debug sleep` does, or restarted) check the Page's pause once their slot
// comes, and those checks all return when Redis is back. Their reads then
// went to Graph at once, as many as slots came due meanwhile, past the
// Page's conversation read limit (Meta allows about 2 a second; 80006), as
// the webhook items' did before TestItemReadsAfterRedisAwayStayPaced_audit15.
// A check answered that late takes a new slot, so the reads stay on the
// schedule: Graph, which allows it and a margin, throttles none of them.
func TestConversationReadsAfterRedisAwayStayPaced_audit16(t *testing.T) {
	t.Parallel() // mostly waits with Redis frozen
	rs := redisproc.Start(t, redisproc.Options{})
	sb := sandbox.New(sandbox.Options{Pages: 1, Conversations: 8, Seed: 1613, ReadRate: 3})
	gs := httptest.NewServer(sb)
	t.Cleanup(gs.Close)
	g := graph.New(graph.Config{BaseURL: gs.URL, Timeout: 2 * time.Second})
	l := tasks.NewLedger(rs.Client(), tasks.LedgerOptions{})
	t.Cleanup(l.Close)
	p := sb.Pages()[0]
	page := &config.Page{ID: p.ID, AccessToken: p.Token, Rate: config.Rate{N: 10, Per: time.Second}, Burst: 1}
	convs := sb.Conversations(p.ID)
	const n = 6
	if len(convs) < n {
		t.Fatalf("only %d conversations", len(convs))
	}
	ctx := context.Background()
	lim := worker.ConversationReadLimit(page)
	next := func() time.Time {
		t.Helper()
		wait, err := l.TakeReadWithin(ctx, page.ID, "reads:conversations", lim, time.Microsecond)
		if err != nil && !errors.Is(err, tasks.ErrReadLater) {
			t.Fatal(err)
		}
		return time.Now().Add(wait)
	}
	start := time.Now()
	log := slog.New(slog.DiscardHandler)
	var wg sync.WaitGroup
	for _, c := range convs[:n] {
		wg.Go(func() {
			var reply tasks.Reply
			err := api.GuardedConversationReply(ctx, l, metrics.New(), g, page, c.ID, time.Now, &reply, 3*time.Second, log)
			if errors.As(err, new(*api.RedisError)) {
				t.Errorf("conversation %s: %v", c.ID, err) // Redis was frozen for less than a client's timeout
			}
		})
	}
	// The requests book their slots (2.5 s of them at 2 a second); Redis then
	// stops answering until all of them have come due.
	booked := start.Add(time.Duration(n-1) * lim.Interval)
	for deadline := time.Now().Add(30 * time.Second); next().Before(booked); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the requests did not all take a read slot")
		}
	}
	last := next().Add(-lim.Interval)
	rs.Pause()
	time.Sleep(time.Until(last) + 200*time.Millisecond)
	rs.Resume()
	wg.Wait()
	if got := sb.ThrottledCount(page.ID); got != 0 {
		t.Errorf("Graph throttled %d of the Page's calls: the conversation reads due while Redis was away went at once", got)
	}
	if d, _, err := l.Paused(ctx, page.ID); err != nil || d > 0 {
		t.Errorf("the Page is paused for %s (%v)", d, err)
	}
}
