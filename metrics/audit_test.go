package metrics

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/graph"
)

// gather returns every sample of m's registry as "name label=value ..." to
// its value (a counter's value, a histogram's sample count).
func gather(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			key := f.GetName()
			for _, l := range s.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				out[key] = float64(s.GetHistogram().GetSampleCount())
			default:
				out[key] = s.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestInitPagesEveryLabel: InitPages makes, at 0, the series of every label
// value the roles write: the worker's own failure reasons (unsettled,
// too_old) and every place a duplicate is caught (the API's ledger and task
// id, Graph's 10900, the person record), so an alert on any of them sees
// its first increase. Nothing starts above 0.
func TestInitPagesEveryLabel(t *testing.T) {
	m := New()
	m.InitPages([]string{"11"})
	series := gather(t, m)
	var want []string
	for _, c := range []string{"unsettled", "too_old"} {
		want = append(want, "pagereply_replies_failed_total class="+c+" page=11")
	}
	for _, w := range []string{"ledger", "taskid", "graph", "person"} {
		want = append(want, "pagereply_duplicates_skipped_total page=11 where="+w)
	}
	for _, k := range want {
		if _, ok := series[k]; !ok {
			t.Errorf("no series %s", k)
		}
	}
	for k, v := range series {
		if v != 0 {
			t.Errorf("%s = %v before anything happened, want 0", k, v)
		}
	}
}

// TestEveryCollectorRegistered: each collector of Metrics is on its
// registry, under its own name, so that what a role counts is scraped.
func TestEveryCollectorRegistered(t *testing.T) {
	m := New()
	v := reflect.ValueOf(m).Elem()
	want := 0
	for i := range v.NumField() {
		if !v.Type().Field(i).IsExported() {
			continue // state of its own, not a collector
		}
		switch c := v.Field(i).Interface().(type) {
		case *prometheus.CounterVec:
			// The vector's label count is not known here: 1 to 3 are tried.
			want++
			for n := 1; n <= 3; n++ {
				if _, err := c.GetMetricWithLabelValues(slices.Repeat([]string{"x"}, n)...); err == nil {
					break
				}
			}
		case *prometheus.HistogramVec:
			want++
			for n := 1; n <= 3; n++ {
				if _, err := c.GetMetricWithLabelValues(slices.Repeat([]string{"x"}, n)...); err == nil {
					break
				}
			}
		}
	}
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	if len(names) != want {
		t.Errorf("%d families on the registry, want one for each of the %d collectors: %v", len(names), want, names)
	}
	for _, name := range []string{"pagereply_graph_calls_total", "pagereply_polls_scheduled_total", "pagereply_webhook_deliveries_total"} {
		if !slices.Contains(names, name) {
			t.Errorf("%s not registered: %v", name, names)
		}
	}
}

// TestObserveGraph: a Graph call is counted under its endpoint and Graph's
// error code, 0 for a success and "network" for a call no answer came to (a
// code of 0 with an HTTP status is a success, not a network error), and its
// duration observed; a nil *Metrics ignores calls.
func TestObserveGraph(t *testing.T) {
	m := New()
	for _, ci := range []graph.CallInfo{
		{Endpoint: graph.EndpointMessages, HTTPStatus: 200, Duration: 20 * time.Millisecond},
		{Endpoint: graph.EndpointMessages, HTTPStatus: 200, Duration: 20 * time.Millisecond},
		{Endpoint: graph.EndpointMessages, HTTPStatus: 400, Code: 10902, Duration: 20 * time.Millisecond},
		{Endpoint: graph.EndpointMessages, Duration: 20 * time.Millisecond},
		{Endpoint: "feed", HTTPStatus: 500, Code: 2, Duration: time.Second},
	} {
		m.ObserveGraph(ci)
	}
	got := gather(t, m)
	for k, want := range map[string]float64{
		"pagereply_graph_calls_total code=0 endpoint=messages":       2,
		"pagereply_graph_calls_total code=10902 endpoint=messages":   1,
		"pagereply_graph_calls_total code=network endpoint=messages": 1,
		"pagereply_graph_calls_total code=2 endpoint=feed":           1,
		"pagereply_graph_call_seconds endpoint=messages":             4,
		"pagereply_graph_call_seconds endpoint=feed":                 1,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	for k := range got {
		if k == "pagereply_graph_calls_total code=200 endpoint=messages" || k == "pagereply_graph_calls_total code=400 endpoint=messages" {
			t.Errorf("a call counted under its HTTP status: %s", k)
		}
	}
	var none *Metrics
	none.ObserveGraph(graph.CallInfo{Endpoint: "feed"})
}
