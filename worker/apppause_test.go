package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestAppThrottlePausesEveryPage: Meta limits an app as a whole as well as
// each Page. An answer that says the app is at its limit (code 4, or
// X-App-Usage near 100 even on a successful send) pauses every Page of the
// app, or the others would push it further over; one that says only the
// Page is (code 32 with its business use case usage) pauses that Page alone.
func TestAppThrottlePausesEveryPage(t *testing.T) {
	const (
		appLimit  = `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","is_transient":true,"code":4,"fbtrace_id":"AbC1"}}`
		pageLimit = `{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32,"fbtrace_id":"AbC2"}}`
	)
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, page string)
		all    bool
		// long: the answer also says the answering Page itself is blocked
		// for a day; the other Pages are paused as for the app alone.
		long bool
	}{
		{name: "code 4", all: true, answer: func(w http.ResponseWriter, _ string) {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(appLimit))
		}},
		{name: "X-App-Usage at 97 % on a sent reply", all: true, answer: func(w http.ResponseWriter, _ string) {
			w.Header().Set("X-App-Usage", `{"call_count":97,"total_cputime":30,"total_time":41}`)
			_, _ = w.Write([]byte(`{"recipient_id":"5000000","message_id":"m_AbC"}`))
		}},
		{name: "X-App-Usage at 96 % and the Page blocked for a day", all: true, long: true, answer: func(w http.ResponseWriter, page string) {
			w.Header().Set("X-App-Usage", `{"call_count":96,"total_cputime":30,"total_time":41}`)
			w.Header().Set("X-Business-Use-Case-Usage", `{"`+page+`":[{"type":"pages","call_count":100,"total_cputime":9,"total_time":12,"estimated_time_to_regain_access":1440}]}`)
			_, _ = w.Write([]byte(`{"recipient_id":"5000000","message_id":"m_AbD"}`))
		}},
		{name: "code 32, the Page's own limit", all: false, answer: func(w http.ResponseWriter, page string) {
			w.Header().Set("X-App-Usage", `{"call_count":3,"total_cputime":1,"total_time":2}`)
			w.Header().Set("X-Business-Use-Case-Usage", `{"`+page+`":[{"type":"pages","call_count":100,"total_cputime":9,"total_time":12,"estimated_time_to_regain_access":4}]}`)
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(pageLimit))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 3, Seed: 83})
			page := h.pages[0].ID
			meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				tc.answer(w, page)
			}))
			t.Cleanup(meta.Close)
			var ids []string
			for _, p := range h.pages {
				ids = append(ids, p.ID)
			}
			ledger := tasks.NewLedger(h.db.Client, tasks.LedgerOptions{Batch: true, AppPages: ids})
			t.Cleanup(ledger.Close)
			g := graph.New(graph.Config{BaseURL: meta.URL, Timeout: 2 * time.Second,
				Observer: worker.GraphObserver(ledger, metrics.New(), testLogger())})
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph, p.Ledger = g, ledger })
			ctx := context.Background()
			r := h.addComments(page, 1, "Hi")[0]
			if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
				t.Fatal(err)
			}
			want := ids[:1]
			if tc.all {
				want = ids
			}
			paused := func(p string) time.Duration {
				d, _, err := ledger.Paused(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			deadline := time.Now().Add(20 * time.Second)
			for _, p := range want {
				for paused(p) <= 0 {
					if time.Now().After(deadline) {
						t.Fatalf("page %s never paused (want %d of %d Pages paused)", p, len(want), len(ids))
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			if tc.long {
				if d := paused(page); d < 23*time.Hour {
					t.Errorf("the blocked Page paused for %s, want its day", d)
				}
				for _, other := range ids[1:] {
					if d := paused(other); d > 3*time.Minute/2 {
						t.Errorf("page %s paused for %s by another Page's day-long block, want the app's pause (a minute, and up to half again to spread the Pages' returns)", other, d)
					}
				}
			}
			if !tc.all {
				// Whatever else the answer did would be done by now.
				time.Sleep(200 * time.Millisecond)
				for _, other := range ids[1:] {
					if d := paused(other); d > 0 {
						t.Errorf("page %s paused for %s by another Page's own limit", other, d)
					}
				}
			}
		})
	}
}
