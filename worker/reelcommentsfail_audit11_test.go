package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestReelCommentsFailureSkipsReel_audit11 pins docs/BEHAVIOUR.md's Reels section: a
// Reel whose comments Graph keeps failing (a 500 with its transient code 2,
// after the reads again) is skipped as such a post is: counted unreadable,
// the poll not failed and not counted reels_failed (that is the listing's
// failure, or a third Reel or post in a row); the feed's comments are
// queued, and the next poll, Graph answering again, reads the Reel's.
func TestReelCommentsFailureSkipsReel_audit11(t *testing.T) {
	lf := newReelsFixture(t, 11100, true)
	h, ctx := lf.h, context.Background()
	var failing atomic.Bool
	var calls atomic.Int32
	failing.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !failing.Load() || !strings.HasSuffix(r.URL.Path, "/"+lf.onlyPost+"/comments") {
			h.sb.ServeHTTP(w, r)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"AbCdEf"}}`))
	}))
	t.Cleanup(srv.Close)
	m := metrics.New()
	p := h.pollParams([]config.Page{lf.page})
	p.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
	p.Metrics = m
	pl := worker.NewPoller(p)

	rep, err := pl.Poll(ctx, lf.page.ID, false)
	if err != nil {
		t.Fatalf("poll with the Reel's comments failing: %v", err)
	}
	if calls.Load() == 0 {
		t.Fatalf("the Reel's comments (%s) were never asked for", lf.onlyPost)
	}
	if rep.Unreadable != 1 || rep.ReelsNotRead != "" || rep.Enqueued() != len(lf.feed) {
		t.Errorf("report: %d unreadable, reels not read %q, %d queued; want 1, \"\", %d", rep.Unreadable, rep.ReelsNotRead, rep.Enqueued(), len(lf.feed))
	}
	var d dto.Metric
	if err := m.PollSkipped.WithLabelValues(lf.page.ID, worker.SkipReelsFailed).Write(&d); err != nil || d.GetCounter().GetValue() != 0 {
		t.Errorf("pagereply_skipped_total{reason=reels_failed} = %v (%v), want 0", d.GetCounter().GetValue(), err)
	}

	failing.Store(false)
	rep, err = pl.Poll(ctx, lf.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unreadable != 0 || rep.Enqueued() != len(lf.only) {
		t.Errorf("Graph answering again: %d unreadable, %d queued; want 0, %d", rep.Unreadable, rep.Enqueued(), len(lf.only))
	}
	h.startWorker(t, 4)
	all := append(append([]tasks.Reply{}, lf.feed...), lf.only...)
	h.waitSent(t, all, 20*time.Second)
	h.checkExactlyOnce(t, all)
}
