package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestPollLeaseReleasedWhenRedisIsBack: a poll cut short by Redis going away
// (a failover) cannot release its lease then. It releases it once Redis
// answers again, so the Page's next poll runs within seconds, not when the
// lease runs out 2 minutes later, and comments made during a failover are
// not held that long.
func TestPollLeaseReleasedWhenRedisIsBack(t *testing.T) {
	t.Parallel() // mostly waits while Redis is away
	pollLeaseReleasedAfter(t, 0)
}

// TestPollLeaseReleasedAfterLongerOutage: the release is tried again for as
// long as the lease would hold (2 minutes), not for a few seconds: Redis away
// for 6 seconds (twice the 3 s of a fortieth of the lease) still finds the
// lease released once it is back.
func TestPollLeaseReleasedAfterLongerOutage(t *testing.T) {
	t.Parallel() // mostly waits while Redis is away
	pollLeaseReleasedAfter(t, 6*time.Second)
}

// pollLeaseReleasedAfter cuts Redis as a poll reads the feed, brings it back
// after outage, and checks the poll's lease is released soon after.
func pollLeaseReleasedAfter(t *testing.T, outage time.Duration) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 3, Comments: 2, Seed: 71})
	cut := redistest.NewCut(t, h.db.Addr)
	ledger := tasks.NewLedger(tasks.NewRedisClient(asynq.RedisClientOpt{Addr: cut.Addr(), DB: h.db.DB}), tasks.LedgerOptions{})
	t.Cleanup(ledger.Close)
	// Redis goes away as the poll reads the Page's feed.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/feed") {
			cut.Down()
		}
		h.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	pages := pollPages(h)
	pp := h.pollParams(pages)
	pp.Ledger = ledger
	pp.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
	page := pages[0].ID
	ctx := context.Background()
	if _, err := worker.NewPoller(pp).Poll(ctx, page, false); err == nil {
		t.Fatal("the poll did not fail with Redis away")
	}
	if _, ok, err := h.ledger.TryLease(ctx, page, "poll", time.Minute); err != nil || ok {
		t.Fatalf("the poll's lease was released while Redis was away (%v): nothing to test", err)
	}
	time.Sleep(outage)
	cut.Up()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, ok, err := h.ledger.TryLease(ctx, page, "poll", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the poll's lease is still held 20s after Redis came back: the Page's polls are turned away until it runs out")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
