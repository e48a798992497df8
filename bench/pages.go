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

// PagesOptions configures RunPages.
type PagesOptions struct {
	// Redis is an empty database; RunPages flushes it before each run and after.
	Redis asynq.RedisConnOpt
	// Pages in all, bad ones included; if zero, 1,000.
	Pages int
	// PerPage is the replies per second offered to each Page; if zero, 1.
	PerPage float64
	// PageRate is every Page's configured rate per second; if zero, 10.
	PageRate int
	// Duration is how long the load is offered; if zero, 10s.
	Duration time.Duration
	// Concurrency of the worker; if zero, 50.
	Concurrency int
	// Producers are the goroutines enqueueing; if zero, 16.
	Producers int
	// HTTP sends Graph calls over loopback HTTP instead of in-process.
	HTTP bool
	// Drain is how long to wait for the good Pages' last sends; if zero, 60s.
	Drain time.Duration
	// Progress, if set, gets a line per run.
	Progress io.Writer
}

// PagesRun is one run's figures for the good Pages (all but the first two,
// which the bad run throttles and breaks).
type PagesRun struct {
	// Bad is true for the run with a throttled and a broken Page.
	Bad bool `json:"bad"`
	// Replies offered to the good Pages, and Sent of them.
	Replies int `json:"replies"`
	Sent    int `json:"sent"`
	// Throughput is the good Pages' sends per second, from the first enqueue
	// to their last send.
	Throughput float64 `json:"sent_per_s"`
	Latency    Latency `json:"latency"`
	// BadSent is what the two bad Pages sent (0 expected with them bad),
	// BadRefused their sends that Graph refused: a paused Page stops calling,
	// so a handful.
	BadSent    int `json:"bad_sent"`
	BadRefused int `json:"bad_refused"`
}

// PagesResult compares the good Pages without and with the bad ones.
type PagesResult struct {
	Pages    int      `json:"pages"`
	PerPage  float64  `json:"per_page_per_s"`
	Baseline PagesRun `json:"baseline"`
	WithBad  PagesRun `json:"with_bad"`
}

// RunPages measures isolation between Pages: many Pages each offered PerPage
// replies per second, once all healthy (the baseline) and once with the first
// Page throttled by Graph (every call refused: 80001 on Page reads, 80006 on
// sends and conversation reads) and the second's token broken (code 190), both
// offered the same load. The other Pages' throughput and enqueue-to-send
// latency should not change.
func RunPages(ctx context.Context, o PagesOptions) (PagesResult, error) {
	if o.Pages <= 0 {
		o.Pages = 1000
	}
	if o.PerPage <= 0 {
		o.PerPage = 1
	}
	if o.PageRate <= 0 {
		o.PageRate = 10
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
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
	if o.Pages < 3 {
		return PagesResult{}, fmt.Errorf("bench: pages: need at least 3 Pages (2 bad ones and a good one)")
	}
	rdb := tasks.NewRedisClient(o.Redis)
	defer rdb.Close()
	if err := emptyDB(ctx, rdb); err != nil {
		return PagesResult{}, err
	}
	defer rdb.FlushDB(context.Background())

	res := PagesResult{Pages: o.Pages, PerPage: o.PerPage}
	for _, bad := range []bool{false, true} {
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			return res, fmt.Errorf("bench: flush: %w", err)
		}
		run, err := pagesOnce(ctx, o, bad)
		if err != nil {
			return res, err
		}
		if bad {
			res.WithBad = run
		} else {
			res.Baseline = run
		}
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "pages (bad Pages: %v): good Pages sent %d/%d at %.0f/s, p50 %.1f ms p99 %.1f ms; bad Pages sent %d, refused %d\n",
				bad, run.Sent, run.Replies, run.Throughput, run.Latency.P50, run.Latency.P99, run.BadSent, run.BadRefused)
		}
	}
	return res, nil
}

func pagesOnce(ctx context.Context, o PagesOptions, bad bool) (PagesRun, error) {
	f := newFleet(fleetOptions{Redis: o.Redis, Pages: o.Pages, PageRate: config.Rate{N: o.PageRate, Per: time.Second}, Burst: 1,
		Concurrency: o.Concurrency, HTTP: o.HTTP})
	defer f.Close()
	throttled, broken := f.pages[0].ID, f.pages[1].ID
	if bad {
		f.sb.Throttle(throttled, time.Hour)
		f.sb.BreakToken(broken, true)
	}
	good := func(page string) bool { return page != throttled && page != broken }
	total := max(o.Pages, int(float64(o.Pages)*o.PerPage*o.Duration.Seconds()))
	rs := f.replies(total)
	want := 0
	for _, r := range rs {
		if good(r.PageID) {
			want++
		}
	}
	if err := f.start(); err != nil {
		return PagesRun{}, err
	}
	time.Sleep(200 * time.Millisecond)
	p, err := openLoop(ctx, f.enq, rs, float64(o.Pages)*o.PerPage, o.Producers)
	if err != nil {
		return PagesRun{}, err
	}
	run := PagesRun{Bad: bad, Replies: want}
	run.Sent = f.waitSends(ctx, want, good, o.Drain)
	if err := ctx.Err(); err != nil {
		return run, err
	}
	ds, last := f.latencies(rs, p, good)
	run.Latency = LatencyOf(ds)
	if d := last.Sub(p.Start).Seconds(); d > 0 {
		run.Throughput = float64(run.Sent) / d
	}
	for _, s := range f.sb.Sends() {
		if !good(s.PageID) {
			run.BadSent++
		}
	}
	run.BadRefused = f.sb.CallCount(throttled) + f.sb.CallCount(broken) - run.BadSent
	return run, nil
}

// MedianPagesResults folds several runs into one: the median of each figure.
func MedianPagesResults(runs []PagesResult) PagesResult {
	if len(runs) == 0 {
		return PagesResult{}
	}
	fold := func(get func(PagesResult) PagesRun) PagesRun {
		var sent, thr, bs, br []float64
		var lat []Latency
		for _, r := range runs {
			x := get(r)
			sent, thr = append(sent, float64(x.Sent)), append(thr, x.Throughput)
			bs, br = append(bs, float64(x.BadSent)), append(br, float64(x.BadRefused))
			lat = append(lat, x.Latency)
		}
		x := get(runs[0])
		x.Sent, x.Throughput, x.Latency = int(Median(sent)), Median(thr), MedianLatency(lat)
		x.BadSent, x.BadRefused = int(Median(bs)), int(Median(br))
		return x
	}
	out := runs[0]
	out.Baseline = fold(func(r PagesResult) PagesRun { return r.Baseline })
	out.WithBad = fold(func(r PagesResult) PagesRun { return r.WithBad })
	return out
}
