package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/pagereply/pagereply/bench"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// benchModes are the `pagereply bench` modes; each file adding one registers it
// in init (bench_poll.go adds "poll").
var benchModes = map[string]func(ctx context.Context, env *cmdEnv, args []string) int{
	"pipeline": runBenchPipeline,
}

func init() {
	register("bench", "measure pagereply against its limits (modes: pipeline, poll)", runBench)
}

func runBench(ctx context.Context, env *cmdEnv, args []string) int {
	modes := make([]string, 0, len(benchModes))
	for m := range benchModes {
		modes = append(modes, m)
	}
	sort.Strings(modes)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(env.stderr, "Usage: pagereply bench <mode> [flags]\n\nModes: %s\n\nExample:\n  pagereply bench pipeline --redis redis://127.0.0.1:6379/15 -n 20000\n", strings.Join(modes, ", "))
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	run, ok := benchModes[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "pagereply bench: unknown mode %q (modes: %s)\n", args[0], strings.Join(modes, ", "))
		return exitUsage
	}
	return run(ctx, env, args[1:])
}

func runBenchPipeline(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "bench pipeline", "bench pipeline [--redis URL] [-n N] [--concurrency C] [--runs R] [--http]",
		"pagereply bench pipeline --redis redis://127.0.0.1:6379/15 -n 20000")
	redisURL := fs.String("redis", "redis://127.0.0.1:6379/15", "an empty Redis database (flushed after each run)")
	n := fs.Int("n", 20000, "tasks per run")
	conc := fs.Int("concurrency", 50, "asynq server concurrency")
	runs := fs.Int("runs", 3, "runs of each kind; the table shows medians")
	useHTTP := fs.Bool("http", false, "send Graph calls over loopback HTTP instead of in-process")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the runs to this file")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintf(env.stderr, "pagereply bench pipeline: --cpuprofile: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(env.stderr, "pagereply bench pipeline: --cpuprofile: %v\n", err)
			return exitError
		}
		defer pprof.StopCPUProfile()
	}
	if *n <= 0 || *conc <= 0 || *runs <= 0 {
		fmt.Fprintln(env.stderr, "pagereply bench pipeline: -n, --concurrency and --runs must be positive")
		return exitUsage
	}
	opt, err := tasks.RedisConnOpt(config.Redis{URL: *redisURL})
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply bench pipeline: --redis: %v\n", err)
		return exitUsage
	}
	var bare, pipe, ratio []float64
	for i := 0; i < *runs; i++ {
		res, err := bench.RunPipeline(ctx, bench.PipelineOptions{Redis: opt, N: *n, Concurrency: *conc, HTTP: *useHTTP})
		if err != nil {
			fmt.Fprintf(env.stderr, "pagereply bench pipeline: %v\n", err)
			return exitError
		}
		fmt.Fprintf(env.stderr, "run %d: bare %.0f/s, pipeline %.0f/s, ratio %.2f; CPU per task: bare go %v + redis %v, pipeline go %v + redis %v\n",
			i+1, res.BarePerSec, res.PipePerSec, res.Ratio, res.BareCPU.Go, res.BareCPU.Redis, res.PipeCPU.Go, res.PipeCPU.Redis)
		bare, pipe, ratio = append(bare, res.BarePerSec), append(pipe, res.PipePerSec), append(ratio, res.Ratio)
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "run\ttasks\tconcurrency\tbare asynq/s\tpipeline/s\tratio\n")
	for i := range bare {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.0f\t%.2f\n", i+1, *n, *conc, bare[i], pipe[i], ratio[i])
	}
	fmt.Fprintf(tw, "median\t%d\t%d\t%.0f\t%.0f\t%.2f\n", *n, *conc, median(bare), median(pipe), median(ratio))
	tw.Flush()
	fmt.Fprintf(env.stdout, "bare_asynq_per_s: %.0f\n", median(bare))
	fmt.Fprintf(env.stdout, "pipeline_per_s: %.0f\n", median(pipe))
	fmt.Fprintf(env.stdout, "ratio: %.2f\n", median(ratio))
	return exitOK
}

// median of xs (ratios are the median of per-run ratios, each measured on the
// same Redis back to back).
func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
