package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/bench"
)

func init() {
	benchModes["pages"] = runBenchPages
}

// pagesArgs are the flags of `bench pages`.
type pagesArgs struct {
	pages       int
	perPage     float64
	duration    time.Duration
	concurrency int
}

func (a *pagesArgs) register(fs *flag.FlagSet) {
	fs.IntVar(&a.pages, "pages", 1000, "Pages, the two bad ones included")
	fs.Float64Var(&a.perPage, "per-page", 1, "replies per second offered to each Page")
	fs.DurationVar(&a.duration, "duration", 10*time.Second, "how long the load is offered")
	fs.IntVar(&a.concurrency, "concurrency", 50, "worker concurrency")
}

// runBenchPages compares the healthy Pages' throughput and latency with and
// without a throttled and a broken Page among them.
func runBenchPages(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "bench pages", "bench pages [--redis URL] [--pages 1000] [--per-page 1] [--duration 10s] [--runs R] [--flush] [--json FILE]",
		"pagereply bench pages --redis redis://127.0.0.1:6379/15 --pages 1000 --runs 3")
	var c benchCommon
	c.register(fs)
	var a pagesArgs
	a.register(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	r, err := a.runner()
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply bench pages: %v\n", err)
		return exitUsage
	}
	return c.runMode(ctx, env, "pages", r)
}

func (a pagesArgs) runner() (benchRunner, error) {
	if a.pages < 3 || a.perPage <= 0 || a.duration <= 0 || a.concurrency <= 0 {
		return nil, fmt.Errorf("--pages must be at least 3; --per-page, --duration and --concurrency positive")
	}
	return func(ctx context.Context, env *cmdEnv, c *benchCommon, opt asynq.RedisConnOpt, res *bench.Results) ([]benchFigure, error) {
		var runs []bench.PagesResult
		for i := 0; i < c.runs; i++ {
			r, err := bench.RunPages(ctx, bench.PagesOptions{Redis: opt, Pages: a.pages, PerPage: a.perPage, Duration: a.duration,
				Concurrency: a.concurrency, Progress: env.stderr})
			if err != nil {
				return nil, err
			}
			runs = append(runs, r)
		}
		m := bench.MedianPagesResults(runs)
		res.Pages = &bench.Section[bench.PagesResult]{Median: m, Runs: runs}
		fmt.Fprintf(env.stdout, "%d Pages at %g reply/s each for %s (each Page limited to 10/s); the %d other Pages with and without a throttled Page (every call refused, 80001 or 80006) and a broken one (token expired, 190); medians of %d runs\n",
			a.pages, a.perPage, a.duration, a.pages-2, len(runs))
		tw := newTable(env)
		fmt.Fprintln(tw, "run\tother Pages sent\tsent/s\tp50 ms\tp95 ms\tp99 ms\tmax ms\tbad Pages: sent, refused calls")
		for _, r := range []bench.PagesRun{m.Baseline, m.WithBad} {
			name, bad := "baseline (all healthy)", "(healthy)"
			if r.Bad {
				name, bad = "throttled + broken Page", fmt.Sprintf("%d, %d", r.BadSent, r.BadRefused)
			}
			fmt.Fprintf(tw, "%s\t%d of %d\t%.0f\t%s\t%s\t%s\t%s\t%s\n", name, r.Sent, r.Replies, r.Throughput,
				ms(r.Latency.P50), ms(r.Latency.P95), ms(r.Latency.P99), ms(r.Latency.Max), bad)
		}
		tw.Flush()
		b, w := m.Baseline, m.WithBad
		fmt.Fprintf(env.stdout, "pages_throughput_change: %+.1f%%\n", 100*(w.Throughput/b.Throughput-1))
		fmt.Fprintf(env.stdout, "pages_p99_ms: %s vs %s\n", ms(b.Latency.P99), ms(w.Latency.P99))
		return []benchFigure{
			{"pages", fmt.Sprintf("%d healthy Pages: sent/s, p50/p99", a.pages-2), fmt.Sprintf("%.0f/s, %s/%s ms", b.Throughput, ms(b.Latency.P50), ms(b.Latency.P99))},
			{"pages", "same, beside a throttled and a broken Page", fmt.Sprintf("%.0f/s, %s/%s ms", w.Throughput, ms(w.Latency.P50), ms(w.Latency.P99))},
		}, nil
	}, nil
}
