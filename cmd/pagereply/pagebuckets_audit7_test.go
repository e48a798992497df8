package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestAppPageBuckets: the app's per-Page histograms keep their buckets by
// default and only +Inf with metrics.page_buckets: false.
func TestAppPageBuckets(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 5}, "10/s")
	for _, on := range []bool{true, false} {
		cfg := *e.cfg
		cfg.Metrics.PageBuckets = &on
		a, err := newApp(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		a.metrics.PollDuration.WithLabelValues(cfg.Pages[0].ID).Observe(1)
		a.metrics.SendLatency.WithLabelValues(cfg.Pages[0].ID).Observe(1)
		a.Close()
		families, err := a.metrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if n := f.GetName(); n != "pagereply_poll_seconds" && n != "pagereply_enqueue_to_send_seconds" {
				continue
			}
			if got := len(f.GetMetric()[0].GetHistogram().GetBucket()); (got > 0) != on {
				t.Errorf("page_buckets %v: %s has %d buckets", on, f.GetName(), got)
			}
		}
	}
}
