package bench

import (
	"math"
	"slices"
	"time"
)

// Median returns the median of xs (the mean of the two middle values for an
// even count), or 0 for none. The bench command reports the median of its
// runs: on a shared machine one slow run says little.
func Median(xs []float64) float64 {
	return Percentile(xs, 50)
}

// Percentile returns the p-th percentile of xs (0 ≤ p ≤ 100), interpolating
// linearly between the closest ranks, or 0 for none. xs is not modified.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return sortedPercentile(s, p)
}

func sortedPercentile(s []float64, p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	p = math.Max(0, math.Min(100, p))
	rank := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	return s[lo] + (s[hi]-s[lo])*(rank-float64(lo))
}

// Latency summarizes a set of latencies in milliseconds.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// LatencyOf summarizes ds.
func LatencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	s := make([]float64, len(ds))
	var sum float64
	for i, d := range ds {
		s[i] = float64(d) / float64(time.Millisecond)
		sum += s[i]
	}
	slices.Sort(s)
	return Latency{N: len(s), P50: sortedPercentile(s, 50), P95: sortedPercentile(s, 95), P99: sortedPercentile(s, 99),
		Max: s[len(s)-1], Mean: sum / float64(len(s))}
}

// MedianLatency is the field-by-field median of several runs' summaries
// (each percentile's median, not the percentile of the pooled samples).
func MedianLatency(ls []Latency) Latency {
	field := func(f func(Latency) float64) float64 {
		xs := make([]float64, len(ls))
		for i, l := range ls {
			xs[i] = f(l)
		}
		return Median(xs)
	}
	return Latency{
		N:    int(field(func(l Latency) float64 { return float64(l.N) })),
		P50:  field(func(l Latency) float64 { return l.P50 }),
		P95:  field(func(l Latency) float64 { return l.P95 }),
		P99:  field(func(l Latency) float64 { return l.P99 }),
		Max:  field(func(l Latency) float64 { return l.Max }),
		Mean: field(func(l Latency) float64 { return l.Mean }),
	}
}
