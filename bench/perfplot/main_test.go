package main

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/pagereply/pagereply/bench"
)

// TestDraw draws a small set of results and reads the PNG back.
func TestDraw(t *testing.T) {
	var rows []bench.PipelineRow
	for _, c := range []int{10, 50, 200} {
		runs := []bench.PipelineResult{{N: 100, Concurrency: c, BarePerSec: 9000, PipePerSec: 4000, Ratio: 0.44},
			{N: 100, Concurrency: c, BarePerSec: 8000, PipePerSec: 4500, Ratio: 0.56}}
		rows = append(rows, bench.PipelineRowOf(runs))
	}
	lat := bench.LatencyResult{Points: []bench.LatencyPoint{
		{Offered: 200, Throughput: 200, Latency: bench.Latency{P50: 11, P95: 25, P99: 29}},
		{Offered: 1000, Throughput: 990, Latency: bench.Latency{P50: 12, P95: 26, P99: 40}},
		{Offered: 5000, Throughput: 3900, Latency: bench.Latency{P50: 900, P95: 2100, P99: 2500}},
	}}
	r := &bench.Results{Machine: &bench.Machine{Cores: 2, Redis: "7.0", Go: "go1.26"}, Pipeline: rows,
		Latency: &bench.Section[bench.LatencyResult]{Median: lat, Runs: []bench.LatencyResult{lat, lat}}}
	path := filepath.Join(t.TempDir(), "perf.png")
	if err := Draw(r, path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 400 {
		t.Fatalf("image %v", b)
	}
	if err := Draw(&bench.Results{Pipeline: rows}, path); err == nil {
		t.Fatal("drew results without a latency section")
	}
}
