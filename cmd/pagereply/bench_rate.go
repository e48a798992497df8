package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/bench"
)

func init() {
	benchModes["rate"] = runBenchRate
}

// rateArgs are the flags of `bench rate`.
type rateArgs struct {
	rates       string
	workers     string
	burst       int
	duration    time.Duration
	concurrency int
	bin         string
}

func (a *rateArgs) register(fs *flag.FlagSet) {
	fs.StringVar(&a.rates, "rates", "10,50,300", "configured per-Page rates, sends per second")
	fs.StringVar(&a.workers, "workers", "1,3,6", "numbers of worker processes")
	fs.IntVar(&a.burst, "burst", 1, "the Page's configured burst")
	fs.DurationVar(&a.duration, "duration", 10*time.Second, "measured time per combination (after a 1s warm-up)")
	fs.IntVar(&a.concurrency, "concurrency", 20, "worker.concurrency of each worker process")
	fs.StringVar(&a.bin, "bin", "", "the pagereply binary the worker processes run (run as: BIN worker -c FILE); default this one")
}

// runBenchRate prints per-Page rate accuracy across worker processes.
func runBenchRate(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "bench rate", "bench rate [--redis URL] [--rates 10,50,300] [--workers 1,3,6] [--duration 10s] [--runs R] [--flush] [--json FILE]",
		"pagereply bench rate --redis redis://127.0.0.1:6379/15 --duration 10s --runs 3")
	var c benchCommon
	c.register(fs)
	var a rateArgs
	a.register(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	r, err := a.runner()
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply bench rate: %v\n", err)
		return exitUsage
	}
	return c.runMode(ctx, env, "rate", r)
}

func (a rateArgs) runner() (benchRunner, error) {
	rates, err := parseInts("rates", a.rates)
	if err != nil {
		return nil, err
	}
	workers, err := parseInts("workers", a.workers)
	if err != nil {
		return nil, err
	}
	if a.duration <= 0 || a.burst <= 0 || a.concurrency <= 0 {
		return nil, fmt.Errorf("--duration, --burst and --concurrency must be positive")
	}
	bin := a.bin
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("--bin: cannot find this binary: %v", err)
		}
	}
	return func(ctx context.Context, env *cmdEnv, c *benchCommon, _ asynq.RedisConnOpt, res *bench.Results) ([]benchFigure, error) {
		var runs [][]bench.RatePoint
		for i := 0; i < c.runs; i++ {
			pts, err := bench.RunRate(ctx, bench.RateOptions{RedisURL: c.redisURL, Rates: rates, Workers: workers, Burst: a.burst,
				Duration: a.duration, Concurrency: a.concurrency, Progress: env.stderr,
				Command: func(path string) *exec.Cmd {
					cmd := exec.Command(bin, "worker", "-c", path)
					cmd.Env = append(os.Environ(), "PAGEREPLY_CONFIG=")
					return cmd
				}})
			if err != nil {
				return nil, err
			}
			runs = append(runs, pts)
		}
		m := bench.MedianRatePoints(runs)
		res.Rate = &bench.Section[[]bench.RatePoint]{Median: m, Runs: runs}
		fmt.Fprintf(env.stdout, "per-Page rate across `pagereply worker` processes (worker.concurrency %d, sandbox over loopback HTTP), %s measured after a 1s warm-up; medians of %d runs, worst window the worst of all runs\n",
			a.concurrency, a.duration, len(runs))
		tw := newTable(env)
		fmt.Fprintln(tw, "rate/s\tburst\tworkers\tachieved/s\tachieved/configured\tlowest–highest run\tworst 1-s window\tallowed (rate+burst)")
		var figs []benchFigure
		worstOver := 0
		for i, p := range m {
			var acc []float64
			for _, r := range runs {
				acc = append(acc, r[i].Accuracy)
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%.1f\t%.3f\t%.3f–%.3f\t%d\t%d\n", p.Rate, p.Burst, p.Workers, p.Achieved, p.Accuracy, slices.Min(acc), slices.Max(acc), p.WorstWindow, p.Allowed)
			figs = append(figs, benchFigure{"rate", fmt.Sprintf("%d/s, %d worker process(es): achieved/configured, worst 1-s window", p.Rate, p.Workers),
				fmt.Sprintf("%.3f, %d (allowed %d)", p.Accuracy, p.WorstWindow, p.Allowed)})
			worstOver = max(worstOver, p.WorstWindow-p.Allowed)
		}
		tw.Flush()
		fmt.Fprintf(env.stdout, "rate_worst_window_over_allowed: %d\n", worstOver)
		return figs, nil
	}, nil
}
