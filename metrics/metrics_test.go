package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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
