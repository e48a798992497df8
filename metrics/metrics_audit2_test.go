package metrics

import (
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/config"
)

// TestNamesAndLabels: each collector is exported under the name, type and
// labels that dashboards, alerts and deploy/README.md query, and its labels
// are in the order the roles pass their values (WithLabelValues is
// positional: a swap would file a Page id under source).
func TestNamesAndLabels(t *testing.T) {
	m := New()
	counter := func(c *prometheus.CounterVec) func(...string) { return func(v ...string) { c.WithLabelValues(v...) } }
	histogram := func(h *prometheus.HistogramVec) func(...string) { return func(v ...string) { h.WithLabelValues(v...) } }
	want := []struct {
		name   string
		typ    dto.MetricType
		labels []string
		with   func(...string)
	}{
		{"pagereply_replies_sent_total", dto.MetricType_COUNTER, []string{"page", "source"}, counter(m.RepliesSent)},
		{"pagereply_replies_failed_total", dto.MetricType_COUNTER, []string{"page", "class"}, counter(m.RepliesFailed)},
		{"pagereply_duplicates_skipped_total", dto.MetricType_COUNTER, []string{"page", "where"}, counter(m.DuplicatesSkipped)},
		{"pagereply_graph_calls_total", dto.MetricType_COUNTER, []string{"endpoint", "code"}, counter(m.GraphCalls)},
		{"pagereply_graph_call_seconds", dto.MetricType_HISTOGRAM, []string{"endpoint"}, histogram(m.GraphDuration)},
		{"pagereply_page_pauses_total", dto.MetricType_COUNTER, []string{"page", "reason"}, counter(m.PagePauses)},
		{"pagereply_rate_limited_total", dto.MetricType_COUNTER, []string{"page"}, counter(m.RateLimited)},
		{"pagereply_person_gap_waits_total", dto.MetricType_COUNTER, []string{"page"}, counter(m.PersonGapWaits)},
		{"pagereply_poll_seconds", dto.MetricType_HISTOGRAM, []string{"page"}, histogram(m.PollDuration)},
		{"pagereply_comments_seen_total", dto.MetricType_COUNTER, []string{"page"}, counter(m.CommentsSeen)},
		{"pagereply_skipped_total", dto.MetricType_COUNTER, []string{"page", "reason"}, counter(m.PollSkipped)},
		{"pagereply_enqueued_total", dto.MetricType_COUNTER, []string{"page", "source", "outcome"}, counter(m.Enqueued)},
		{"pagereply_enqueue_to_send_seconds", dto.MetricType_HISTOGRAM, []string{"page"}, histogram(m.SendLatency)},
		{"pagereply_polls_scheduled_total", dto.MetricType_COUNTER, []string{"page", "outcome"}, counter(m.PollsScheduled)},
		{"pagereply_webhook_deliveries_total", dto.MetricType_COUNTER, []string{"outcome"}, counter(m.WebhookDeliveries)},
	}
	// Each label's value is its own name: a label out of order shows as
	// page="source".
	for _, w := range want {
		w.with(w.labels...)
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, f := range families {
		got[f.GetName()] = f
	}
	for _, w := range want {
		f, ok := got[w.name]
		if !ok {
			t.Errorf("no family %s", w.name)
			continue
		}
		if f.GetType() != w.typ {
			t.Errorf("%s is a %s, want a %s", w.name, f.GetType(), w.typ)
		}
		if f.GetHelp() == "" {
			t.Errorf("%s has no help text", w.name)
		}
		for _, s := range f.GetMetric() {
			var names []string
			for _, l := range s.GetLabel() {
				names = append(names, l.GetName())
				if l.GetValue() != l.GetName() {
					t.Errorf("%s: the value given for %s is filed under %s", w.name, l.GetValue(), l.GetName())
				}
			}
			if exp := slices.Sorted(slices.Values(w.labels)); !slices.Equal(names, exp) {
				t.Errorf("%s labels %v, want %v", w.name, names, exp)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d families, want %d", len(got), len(want))
	}
}

// TestHelpNamesOutcomes: the help texts of the counters whose label is an
// outcome or a reason list every value the roles write, as operators read
// them on /metrics.
func TestHelpNamesOutcomes(t *testing.T) {
	m := New()
	m.PollsScheduled.WithLabelValues("p", "enqueued")
	m.WebhookDeliveries.WithLabelValues("accepted")
	m.PagePauses.WithLabelValues("p", "throttled")
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	help := map[string]string{}
	for _, f := range families {
		help[f.GetName()] = f.GetHelp()
	}
	for name, values := range map[string][]string{
		"pagereply_polls_scheduled_total":    {"enqueued", "taken", "page_broken", "error"},
		"pagereply_webhook_deliveries_total": {"accepted", "ignored", "bad_signature", "bad_body", "too_large", "error"},
		"pagereply_page_pauses_total":        {"throttled", "page_broken", "graph_down", "policy_block"},
	} {
		for _, v := range values {
			if !strings.Contains(help[name], v) {
				t.Errorf("help of %s does not name %s: %q", name, v, help[name])
			}
		}
	}
}

// TestGraphBucketsReachTimeout: the Graph call duration's buckets reach the
// default Graph timeout, so a slow call is told apart from one that timed
// out instead of both falling in +Inf.
func TestGraphBucketsReachTimeout(t *testing.T) {
	m := New()
	var d dto.Metric
	if err := m.GraphDuration.WithLabelValues("messages").(prometheus.Histogram).Write(&d); err != nil {
		t.Fatal(err)
	}
	top := 0.0
	for _, b := range d.GetHistogram().GetBucket() {
		if !math.IsInf(b.GetUpperBound(), 1) {
			top = b.GetUpperBound()
		}
	}
	if top < config.DefaultGraphTimeout.Seconds() {
		t.Fatalf("largest bucket %.2f s, want at least the %s Graph timeout", top, config.DefaultGraphTimeout)
	}
}

// TestREADMELabels: the labels deploy/README.md shows with each pagereply_
// metric of this package (pagereply_x{page,reason}) are labels it has.
func TestREADMELabels(t *testing.T) {
	readme, err := os.ReadFile("../deploy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := New()
	// A series of each vector, whatever its label count (1 to 3).
	series := func(get func(...string) error) {
		for n := 1; n <= 3 && get(slices.Repeat([]string{"x"}, n)...) != nil; n++ {
		}
	}
	for _, c := range []*prometheus.CounterVec{m.RepliesSent, m.RepliesFailed, m.DuplicatesSkipped, m.GraphCalls, m.PagePauses,
		m.RateLimited, m.PersonGapWaits, m.CommentsSeen, m.PollSkipped, m.Enqueued, m.PollsScheduled, m.WebhookDeliveries} {
		series(func(v ...string) error { _, err := c.GetMetricWithLabelValues(v...); return err })
	}
	for _, h := range []*prometheus.HistogramVec{m.GraphDuration, m.PollDuration, m.SendLatency} {
		series(func(v ...string) error { _, err := h.GetMetricWithLabelValues(v...); return err })
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	labels := map[string][]string{}
	for _, f := range families {
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels[f.GetName()] = append(labels[f.GetName()], l.GetName())
		}
	}
	seen := 0
	for _, mm := range regexp.MustCompile(`\b(pagereply_[a-z_]*[a-z])\{([a-z_,]+)\}`).FindAllStringSubmatch(string(readme), -1) {
		have, ok := labels[mm[1]]
		if !ok {
			continue // another package's (the api's pause gauges)
		}
		seen++
		for _, l := range strings.Split(mm[2], ",") {
			if !slices.Contains(have, l) {
				t.Errorf("deploy/README.md shows %s{%s}: %s has no label %s (it has %v)", mm[1], mm[2], mm[1], l, have)
			}
		}
	}
	if seen == 0 {
		t.Fatal("deploy/README.md shows no labels of this package's metrics")
	}
}
