package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestAppThrottlePausesThousandsOfPagesAtOnce: an agency runs thousands of
// Pages on one app. X-App-Usage near 100 on one Page's answer pauses every
// one of them, in a few pipelines: one round trip per Page (5,000 of them
// measured at 5 s on a loaded machine) outlasted the handler's deadline and
// left about 2,000 Pages calling Graph at the app's limit.
func TestAppThrottlePausesThousandsOfPagesAtOnce(t *testing.T) {
	const n = 3000
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 84})
	page := h.pages[0].ID
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-App-Usage", `{"call_count":98,"total_cputime":30,"total_time":41}`)
		_, _ = w.Write([]byte(`{"recipient_id":"5000000","message_id":"m_AbE"}`))
	}))
	t.Cleanup(meta.Close)
	ids := []string{page}
	for i := range n - 1 {
		ids = append(ids, fmt.Sprintf("%d", 7100000000000000+i))
	}
	rdb := redis.NewClient(&redis.Options{Addr: h.db.Addr, DB: h.db.DB})
	t.Cleanup(func() { _ = rdb.Close() })
	// The Redis round trips that write a Page's pause (the pause script
	// names its pause_token key) as single commands: an app of thousands of
	// Pages must not pause them one round trip each.
	calls := redistest.Counter{Match: func(c redis.Cmder) bool {
		for _, a := range c.Args() {
			if s, ok := a.(string); ok && strings.HasSuffix(s, ":pause_token") {
				return true
			}
		}
		return false
	}}
	rdb.AddHook(&calls)
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true, AppPages: ids})
	t.Cleanup(ledger.Close)
	g := graph.New(graph.Config{BaseURL: meta.URL, Timeout: 2 * time.Second,
		Observer: worker.GraphObserver(ledger, metrics.New(), testLogger())})
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph, p.Ledger = g, ledger })
	ctx := context.Background()
	r := h.addComments(page, 1, "Hi")[0]
	if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ps, err := ledger.PausedAll(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		unpaused := 0
		for _, p := range ps {
			if p.Left <= 0 {
				unpaused++
			}
		}
		if unpaused == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d Pages of the app never paused", unpaused, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := calls.Single.Load(); got > n/10 {
		t.Fatalf("pausing %d Pages took %d single round trips, want them pipelined", n, got)
	}
}
