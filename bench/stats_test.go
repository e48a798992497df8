package bench

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/redistest"
)

func TestPercentile(t *testing.T) {
	cases := []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{"none", nil, 50, 0},
		{"one", []float64{7}, 99, 7},
		{"odd median", []float64{3, 1, 2}, 50, 2},
		{"even median", []float64{4, 1, 3, 2}, 50, 2.5},
		{"p0", []float64{5, 1, 9}, 0, 1},
		{"p100", []float64{5, 1, 9}, 100, 9},
		{"interpolated p90", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 90, 10},
		{"p95 of 1..100", seq(100), 95, 95.05},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.xs, tc.p); math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
			}
		})
	}
	xs := []float64{3, 1, 2}
	Median(xs)
	if xs[0] != 3 {
		t.Fatal("Median sorted its argument")
	}
}

func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

func TestLatencyOf(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond
	}
	l := LatencyOf(ds)
	if l.N != 100 || math.Abs(l.P50-50.5) > 1e-9 || math.Abs(l.P99-99.01) > 1e-9 || l.Max != 100 || math.Abs(l.Mean-50.5) > 1e-9 {
		t.Fatalf("%+v", l)
	}
	m := MedianLatency([]Latency{{P50: 1, P99: 10}, {P50: 3, P99: 30}, {P50: 2, P99: 20}})
	if m.P50 != 2 || m.P99 != 20 {
		t.Fatalf("median latency %+v", m)
	}
}

// TestUpdateResults: each mode replaces its own section of the file.
func TestUpdateResults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	row := PipelineRowOf([]PipelineResult{{N: 10, Concurrency: 5, BarePerSec: 100, PipePerSec: 50, Ratio: 0.5},
		{N: 10, Concurrency: 5, BarePerSec: 300, PipePerSec: 60, Ratio: 0.2}, {N: 10, Concurrency: 5, BarePerSec: 200, PipePerSec: 70, Ratio: 0.35}})
	if row.BarePerSec != 200 || row.PipePerSec != 60 || row.Ratio != 0.35 || len(row.Runs) != 3 {
		t.Fatalf("row %+v", row)
	}
	if err := UpdateResults(path, func(r *Results) { r.Pipeline = []PipelineRow{row} }); err != nil {
		t.Fatal(err)
	}
	lat := LatencyResult{Points: []LatencyPoint{{Offered: 200, Latency: Latency{P50: 3}}}}
	if err := UpdateResults(path, func(r *Results) { r.Latency = &Section[LatencyResult]{Median: lat, Runs: []LatencyResult{lat}} }); err != nil {
		t.Fatal(err)
	}
	r, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Pipeline) != 1 || r.Pipeline[0].Concurrency != 5 || r.Latency == nil || r.Latency.Median.Points[0].Latency.P50 != 3 {
		t.Fatalf("results %+v", r)
	}
}

func TestDescribeMachine(t *testing.T) {
	db := redistest.New(t)
	m := DescribeMachine(context.Background(), db.Client)
	if m.Cores <= 0 || m.Go == "" || m.Redis == "" {
		t.Fatalf("%+v", m)
	}
	t.Log(m)
}
