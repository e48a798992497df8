package bench

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// LatencyOptions configures RunLatency.
type LatencyOptions struct {
	// Redis is an empty database; RunLatency flushes it before each load and after.
	Redis asynq.RedisConnOpt
	// Rates are the offered loads in replies per second; if empty, 200, 1,000
	// and 5,000.
	Rates []float64
	// Duration is how long each load is offered; if zero, 5s.
	Duration time.Duration
	// Pages share the load round-robin; if zero, 100. Each is configured at
	// PageRate, so the per-Page limiter runs (as in production) but does not
	// bind.
	Pages int
	// PageRate is every Page's configured rate per second; if zero, 1,000.
	PageRate int
	// Concurrency of the worker; if zero, 50.
	Concurrency int
	// Producers are the goroutines enqueueing; if zero, 16.
	Producers int
	// HTTP sends Graph calls over loopback HTTP instead of in-process.
	HTTP bool
	// Drain is how long to wait for the last sends after the load stops; if
	// zero, 60s. Replies still unsent then are counted as such.
	Drain time.Duration
	// Progress, if set, gets a line per load.
	Progress io.Writer
}

// LatencyPoint is one offered load's figures.
type LatencyPoint struct {
	// Offered is the load asked for, replies/s; Enqueued the rate the
	// producers achieved (lower when they could not keep the schedule).
	Offered  float64 `json:"offered_per_s"`
	Enqueued float64 `json:"enqueued_per_s"`
	Replies  int     `json:"replies"`
	Sent     int     `json:"sent"`
	// Throughput is sends per second from the first enqueue to the last send.
	Throughput float64 `json:"sent_per_s"`
	// Latency is sandbox send time minus the start of the Enqueue call.
	Latency Latency `json:"latency"`
	// ProducerLag is how late the producers called Enqueue against their
	// schedule.
	ProducerLag Latency `json:"producer_lag"`
}

// LatencyResult is RunLatency's answer.
type LatencyResult struct {
	Points []LatencyPoint `json:"points"`
	Tuning Tuning         `json:"tuning"`
	Pages  int            `json:"pages"`
}

// RunLatency measures enqueue-to-send latency at each offered load: an
// open-loop producer enqueues through tasks.Enqueuer at a fixed rate for
// Duration, spread over many Pages, and a worker with worker.Params defaults
// sends to the in-process sandbox, which records each send's time.
func RunLatency(ctx context.Context, o LatencyOptions) (LatencyResult, error) {
	if len(o.Rates) == 0 {
		o.Rates = []float64{200, 1000, 5000}
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Pages <= 0 {
		o.Pages = 100
	}
	if o.PageRate <= 0 {
		o.PageRate = 1000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 50
	}
	if o.Producers <= 0 {
		o.Producers = 16
	}
	if o.Drain <= 0 {
		o.Drain = 60 * time.Second
	}
	rdb := tasks.NewRedisClient(o.Redis)
	defer rdb.Close()
	if err := emptyDB(ctx, rdb); err != nil {
		return LatencyResult{}, err
	}
	defer rdb.FlushDB(context.Background())

	res := LatencyResult{Pages: o.Pages}
	for _, rate := range o.Rates {
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			return res, fmt.Errorf("bench: flush: %w", err)
		}
		pt, tun, err := latencyAt(ctx, o, rate)
		if err != nil {
			return res, err
		}
		res.Tuning = tun
		res.Points = append(res.Points, pt)
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "latency at %.0f/s offered: enqueued %.0f/s, sent %d/%d at %.0f/s, p50 %.1f ms p95 %.1f ms p99 %.1f ms\n",
				rate, pt.Enqueued, pt.Sent, pt.Replies, pt.Throughput, pt.Latency.P50, pt.Latency.P95, pt.Latency.P99)
		}
	}
	return res, nil
}

func latencyAt(ctx context.Context, o LatencyOptions, rate float64) (LatencyPoint, Tuning, error) {
	f := newFleet(fleetOptions{Redis: o.Redis, Pages: o.Pages, PageRate: config.Rate{N: o.PageRate, Per: time.Second},
		Burst: max(1, o.PageRate/10), Concurrency: o.Concurrency, HTTP: o.HTTP})
	defer f.Close()
	n := max(1, int(rate*o.Duration.Seconds()))
	rs := f.replies(n)
	if err := f.start(); err != nil {
		return LatencyPoint{}, Tuning{}, err
	}
	// Let the server's first empty polls pass, as on a running worker.
	time.Sleep(200 * time.Millisecond)
	p, err := openLoop(ctx, f.enq, rs, rate, o.Producers)
	if err != nil {
		return LatencyPoint{}, Tuning{}, err
	}
	sent := f.waitSends(ctx, n, nil, o.Drain)
	if err := ctx.Err(); err != nil {
		return LatencyPoint{}, Tuning{}, err
	}
	ds, last := f.latencies(rs, p, nil)
	pt := LatencyPoint{Offered: rate, Enqueued: p.EnqueueRate(), Replies: n, Sent: sent,
		Latency: LatencyOf(ds), ProducerLag: p.Lag}
	if d := last.Sub(p.Start).Seconds(); d > 0 {
		pt.Throughput = float64(sent) / d
	}
	return pt, tuningOf(f.w), nil
}

// MedianLatencyResults folds several runs into one: per load, the median of
// each figure.
func MedianLatencyResults(runs []LatencyResult) LatencyResult {
	if len(runs) == 0 {
		return LatencyResult{}
	}
	out := LatencyResult{Tuning: runs[0].Tuning, Pages: runs[0].Pages}
	for i, pt := range runs[0].Points {
		var enq, thr, sent []float64
		var lat, lag []Latency
		for _, r := range runs {
			if i >= len(r.Points) {
				continue
			}
			q := r.Points[i]
			enq, thr, sent = append(enq, q.Enqueued), append(thr, q.Throughput), append(sent, float64(q.Sent))
			lat, lag = append(lat, q.Latency), append(lag, q.ProducerLag)
		}
		out.Points = append(out.Points, LatencyPoint{Offered: pt.Offered, Replies: pt.Replies, Enqueued: Median(enq),
			Sent: int(Median(sent)), Throughput: Median(thr), Latency: MedianLatency(lat), ProducerLag: MedianLatency(lag)})
	}
	return out
}
