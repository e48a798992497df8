package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/bench"
)

func init() {
	benchModes["latency"] = runBenchLatency
}

// latencyArgs are the flags of `bench latency`.
type latencyArgs struct {
	rates       string
	duration    time.Duration
	pages       int
	concurrency int
	useHTTP     bool
}

func (a *latencyArgs) register(fs *flag.FlagSet) {
	fs.StringVar(&a.rates, "rates", "200,1000,5000", "offered loads, replies per second")
	fs.DurationVar(&a.duration, "duration", 5*time.Second, "how long each load is offered")
	fs.IntVar(&a.pages, "pages", 100, "Pages sharing the load (each configured at 1000/s, so their limits do not bind)")
	fs.IntVar(&a.concurrency, "concurrency", 50, "worker concurrency (every other worker.Params setting is its default)")
	fs.BoolVar(&a.useHTTP, "http", false, "send Graph calls over loopback HTTP instead of in-process")
}

// runBenchLatency prints enqueue-to-send latency percentiles at several
// offered loads.
func runBenchLatency(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "bench latency", "bench latency [--redis URL] [--rates 200,1000,5000] [--duration 5s] [--pages N] [--concurrency C] [--runs R] [--http] [--flush] [--json FILE]",
		"pagereply bench latency --redis redis://127.0.0.1:6379/15 --rates 200,1000,5000 --runs 3")
	var c benchCommon
	c.register(fs)
	var a latencyArgs
	a.register(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	r, err := a.runner()
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply bench latency: %v\n", err)
		return exitUsage
	}
	return c.runMode(ctx, env, "latency", r)
}

func (a latencyArgs) runner() (benchRunner, error) {
	ints, err := parseInts("rates", a.rates)
	if err != nil {
		return nil, err
	}
	if a.duration <= 0 || a.pages <= 0 || a.concurrency <= 0 {
		return nil, fmt.Errorf("--duration, --pages and --concurrency must be positive")
	}
	rates := make([]float64, len(ints))
	for i, r := range ints {
		rates[i] = float64(r)
	}
	return func(ctx context.Context, env *cmdEnv, c *benchCommon, opt asynq.RedisConnOpt, res *bench.Results) ([]benchFigure, error) {
		var runs []bench.LatencyResult
		for i := 0; i < c.runs; i++ {
			r, err := bench.RunLatency(ctx, bench.LatencyOptions{Redis: opt, Rates: rates, Duration: a.duration, Pages: a.pages,
				Concurrency: a.concurrency, HTTP: a.useHTTP, Progress: env.stderr})
			if err != nil {
				return nil, err
			}
			runs = append(runs, r)
		}
		m := bench.MedianLatencyResults(runs)
		res.Latency = &bench.Section[bench.LatencyResult]{Median: m, Runs: runs}
		fmt.Fprintf(env.stdout, "enqueue-to-send latency: open-loop producer through tasks.Enqueuer for %s per load, %d Pages, in-process sandbox (--http: %v); medians of %d runs\n",
			a.duration, a.pages, a.useHTTP, len(runs))
		fmt.Fprintf(env.stdout, "%s\n", m.Tuning)
		tw := newTable(env)
		fmt.Fprintln(tw, "offered/s\tenqueued/s\tsent/s\tsent\tp50 ms\tp95 ms\tp99 ms\tmax ms\tp99 ms, lowest–highest run\tproducer lag p99 ms")
		var figs []benchFigure
		for i, p := range m.Points {
			var p99 []float64
			for _, r := range runs {
				p99 = append(p99, r.Points[i].Latency.P99)
			}
			sent := strconv.Itoa(p.Sent)
			if p.Sent < p.Replies {
				sent = fmt.Sprintf("%d of %d", p.Sent, p.Replies)
			}
			fmt.Fprintf(tw, "%.0f\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%s–%s\t%s\n", p.Offered, p.Enqueued, p.Throughput, sent,
				ms(p.Latency.P50), ms(p.Latency.P95), ms(p.Latency.P99), ms(p.Latency.Max), ms(slices.Min(p99)), ms(slices.Max(p99)), ms(p.ProducerLag.P99))
			figs = append(figs, benchFigure{"latency", fmt.Sprintf("%.0f/s offered: sent/s, p50/p95/p99", p.Offered),
				fmt.Sprintf("%.0f/s, %s/%s/%s ms", p.Throughput, ms(p.Latency.P50), ms(p.Latency.P95), ms(p.Latency.P99))})
		}
		tw.Flush()
		for _, p := range m.Points {
			fmt.Fprintf(env.stdout, "latency_p99_ms_at_%.0f: %s\n", p.Offered, ms(p.Latency.P99))
		}
		return figs, nil
	}, nil
}
