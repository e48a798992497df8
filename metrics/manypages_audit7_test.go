package metrics

import (
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// fiveThousandPages is m after each of 5,000 Pages polled once and sent one
// reply: the series an agency's /metrics holds once it has run a while.
func fiveThousandPages(m *Metrics) {
	pages := make([]string, 5000)
	for i := range pages {
		pages[i] = strconv.Itoa(1983306698425200 + 7919*i)
	}
	m.InitPages(pages)
	for _, p := range pages {
		m.PollDuration.WithLabelValues(p).Observe(0.2)
		m.PollsScheduled.WithLabelValues(p, "enqueued").Inc()
		m.Enqueued.WithLabelValues(p, "poll", "enqueued").Inc()
		m.RepliesSent.WithLabelValues(p, "poll").Inc()
		m.SendLatency.WithLabelValues(p).Observe(0.5)
	}
}

// BenchmarkScrape5000Pages is one scrape of /metrics (text format, no gzip)
// of a process serving 5,000 Pages (docs/PERFORMANCE.md, "Five thousand
// Pages"), with the default page_buckets and without.
func BenchmarkScrape5000Pages(b *testing.B) {
	for _, o := range []Options{{}, {NoPageBuckets: true}} {
		b.Run(map[bool]string{false: "page_buckets", true: "no_page_buckets"}[o.NoPageBuckets], func(b *testing.B) {
			m := NewWith(o)
			fiveThousandPages(m)
			h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
			b.ReportAllocs()
			var size int
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/scrape")
		})
	}
}

// TestNoPageBucketsAt5000Pages: metrics.page_buckets: false leaves the two
// per-Page histograms with their names, type and labels, _sum and _count,
// and only the +Inf bucket, which takes this package's series of 5,000
// Pages from 400,000 to 140,000 (the whole /metrics of serve from about
// 430,000 to 170,000); by default every bucket is there.
func TestNoPageBucketsAt5000Pages(t *testing.T) {
	count := func(m *Metrics) (series int, buckets map[string]int) {
		fiveThousandPages(m)
		families, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		buckets = map[string]int{}
		for _, f := range families {
			for _, s := range f.GetMetric() {
				if h := s.GetHistogram(); h != nil {
					series += len(h.GetBucket()) + 3 // and +Inf, _sum, _count
					buckets[f.GetName()] = len(h.GetBucket())
					if h.GetSampleCount() != 1 || h.GetSampleSum() == 0 {
						t.Errorf("%s: count %d sum %v, want the one observation", f.GetName(), h.GetSampleCount(), h.GetSampleSum())
					}
					continue
				}
				series++
			}
		}
		return series, buckets
	}
	all, full := count(New())
	some, none := count(NewWith(Options{NoPageBuckets: true}))
	if full["pagereply_poll_seconds"] != 24 || full["pagereply_enqueue_to_send_seconds"] != 28 {
		t.Errorf("default buckets %v, want 24 and 28", full)
	}
	if none["pagereply_poll_seconds"] != 0 || none["pagereply_enqueue_to_send_seconds"] != 0 {
		t.Errorf("buckets without page_buckets %v, want none but +Inf", none)
	}
	if all < 390000 || some > 150000 {
		t.Errorf("%d series by default, %d without page buckets; want about 400,000 and 140,000", all, some)
	}
}
