package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/graph"
)

// TestLatencyBucketsCoverPauses: the send latency's buckets reach past the
// 7-day reply window and the poll duration's to about 23 h (a poll may run
// 24 h), so a reply held by a pause or a long poll is measured: with their top
// buckets at 164 s and 82 s, such observations fell in +Inf alone, and
// histogram_quantile said 164 s of a reply that waited an hour.
func TestLatencyBucketsCoverPauses(t *testing.T) {
	m := New()
	for _, c := range []struct {
		name string
		h    *prometheus.HistogramVec
		need time.Duration
	}{
		{"pagereply_enqueue_to_send_seconds", m.SendLatency, 7 * 24 * time.Hour},
		{"pagereply_poll_seconds", m.PollDuration, 23 * time.Hour},
	} {
		var d dto.Metric
		if err := c.h.WithLabelValues("p").(prometheus.Histogram).Write(&d); err != nil {
			t.Fatal(err)
		}
		top := 0.0
		for _, b := range d.GetHistogram().GetBucket() {
			if !math.IsInf(b.GetUpperBound(), 1) {
				top = b.GetUpperBound()
			}
		}
		if top < c.need.Seconds() {
			t.Errorf("%s: largest bucket %.0f s, want at least %.0f s", c.name, top, c.need.Seconds())
		}
	}
}

// TestInitPagesAtZero: every configured Page's alerting series exist at 0
// before anything happens, for every label value the roles write, so the
// first failure, pause or send shows as an increase.
func TestInitPagesAtZero(t *testing.T) {
	m := New()
	m.InitPages([]string{"11", "22"})
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			key := f.GetName()
			for _, l := range s.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			series[key] = s.GetCounter().GetValue()
		}
	}
	var want []string
	for _, page := range []string{"11", "22"} {
		for _, src := range []string{"poll", "webhook", "api"} {
			want = append(want, "pagereply_replies_sent_total page="+page+" source="+src)
		}
		// The classes the worker counts as failures: all but success,
		// already replied (a success) and throttled (a pause).
		for c := graph.ClassThrottled; c <= graph.ClassPageBroken; c++ {
			if c != graph.ClassThrottled && c != graph.ClassAlreadyReplied {
				want = append(want, "pagereply_replies_failed_total class="+c.String()+" page="+page)
			}
		}
		for _, r := range []string{"throttled", "page_broken", "graph_down", "policy_block"} {
			want = append(want, "pagereply_page_pauses_total page="+page+" reason="+r)
		}
		for _, name := range []string{"pagereply_rate_limited_total", "pagereply_person_gap_waits_total", "pagereply_comments_seen_total"} {
			want = append(want, name+" page="+page)
		}
		want = append(want, "pagereply_duplicates_skipped_total page="+page+" where=ledger")
	}
	for _, k := range want {
		v, ok := series[k]
		if !ok {
			t.Errorf("no series %s", k)
		} else if v != 0 {
			t.Errorf("%s = %v, want 0", k, v)
		}
	}
}
