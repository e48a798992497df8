package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/bench"
)

// benchModes are the `pagereply bench` modes; each file adding one registers it
// in init (bench_poll.go adds "poll", bench_latency.go "latency", and so on).
var benchModes = map[string]func(ctx context.Context, env *cmdEnv, args []string) int{
	"pipeline": runBenchPipeline,
}

func init() {
	register("bench", "measure pagereply against its limits (modes: pipeline, latency, rate, poll, redis, pages, all)", runBench)
}

func runBench(ctx context.Context, env *cmdEnv, args []string) int {
	modes := make([]string, 0, len(benchModes))
	for m := range benchModes {
		modes = append(modes, m)
	}
	sort.Strings(modes)
	// Help as Go's flag package takes it for the other commands: -h, -help,
	// with one dash or two.
	if len(args) == 0 || slices.Contains([]string{"-h", "-help", "--h", "--help"}, args[0]) {
		w := env.stdout // asked for
		if len(args) == 0 {
			w = env.stderr
		}
		fmt.Fprintf(w, "Usage: pagereply bench <mode> [flags]\n\nModes: %s\n\nEvery mode takes --redis URL (an empty database; --flush empties it), --runs N (tables show medians)\nand --json FILE (merged into FILE; go run ./bench/perfplot draws it). pagereply bench <mode> -h for the rest.\n\nExample:\n  pagereply bench pipeline --redis redis://127.0.0.1:6379/15 -n 20000 --concurrency 10,50,200\n", strings.Join(modes, ", "))
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	run, ok := benchModes[args[0]]
	if !ok && strings.HasPrefix(args[0], "-") {
		// Flags before the mode: the mode's own flag set parses them, so
		// the mode comes first. The arguments are not echoed: --redis may
		// hold a password.
		mode := "<mode>"
		for _, a := range args[1:] {
			if _, ok := benchModes[a]; ok {
				mode = a
				break
			}
		}
		fmt.Fprintf(env.stderr, "pagereply bench: give the mode first: pagereply bench %s --redis URL ... (modes: %s)\n", mode, strings.Join(modes, ", "))
		return exitUsage
	}
	if !ok {
		fmt.Fprintf(env.stderr, "pagereply bench: unknown mode %q (modes: %s)\n", args[0], strings.Join(modes, ", "))
		return exitUsage
	}
	return run(ctx, env, args[1:])
}

// pipelineArgs are the flags of `bench pipeline`.
type pipelineArgs struct {
	n          int
	conc       string
	useHTTP    bool
	cpuProfile string
	dequeue    bool
}

func (a *pipelineArgs) register(fs *flag.FlagSet) {
	fs.IntVar(&a.n, "n", 20000, "tasks per run")
	fs.StringVar(&a.conc, "concurrency", "50", "asynq server concurrency, or a list (10,50,200): one table row per value, each the median of --runs runs; "+
		"the closing bare_asynq_per_s, pipeline_per_s and ratio lines are those of 50 when listed, else of the last value")
	fs.BoolVar(&a.useHTTP, "http", false, "send Graph calls over loopback HTTP instead of in-process")
	fs.BoolVar(&a.dequeue, "dequeue-latency", false, "time asynq's dequeue round trips in both phases (its single dequeue loop bounds the drain rate) "+
		"and print them after each run, with those of the reply path that ran while a ledger pipeline was out")
}

func runBenchPipeline(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "bench pipeline", "bench pipeline [--redis URL] [-n N] [--concurrency C[,C...]] [--runs R] [--http] [--dequeue-latency] [--flush] [--json FILE]",
		"pagereply bench pipeline --redis redis://127.0.0.1:6379/15 -n 20000 --concurrency 10,50,200")
	var c benchCommon
	c.register(fs)
	var a pipelineArgs
	a.register(fs)
	fs.StringVar(&a.cpuProfile, "cpuprofile", "", "write a CPU profile of the runs to this file")
	memProfile := fs.String("memprofile", "", "write an allocation profile of the runs to this file (go tool pprof -sample_index=alloc_space)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			fmt.Fprintf(env.stderr, "pagereply bench pipeline: --memprofile: %v\n", err)
			return exitUsage
		}
		defer func() {
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				fmt.Fprintf(env.stderr, "pagereply bench pipeline: --memprofile: %v\n", err)
			}
			f.Close()
		}()
	}
	if a.cpuProfile != "" {
		f, err := os.Create(a.cpuProfile)
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
	r, err := a.runner()
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply bench pipeline: %v\n", err)
		return exitUsage
	}
	return c.runMode(ctx, env, "pipeline", r)
}

// runner checks the flags and returns the measurement.
func (a pipelineArgs) runner() (benchRunner, error) {
	concs, err := parseInts("concurrency", a.conc)
	if err != nil {
		return nil, err
	}
	if a.n <= 0 {
		return nil, fmt.Errorf("-n must be positive")
	}
	return func(ctx context.Context, env *cmdEnv, c *benchCommon, opt asynq.RedisConnOpt, res *bench.Results) ([]benchFigure, error) {
		var rows []bench.PipelineRow
		for _, conc := range concs {
			var runs []bench.PipelineResult
			for i := 0; i < c.runs; i++ {
				// Every other run measures the reply path first: the phase
				// that runs second is a little slower.
				first := i%2 == 1
				r, err := bench.RunPipeline(ctx, bench.PipelineOptions{Redis: opt, N: a.n, Concurrency: conc, HTTP: a.useHTTP, PipelineFirst: first, DequeueLatency: a.dequeue})
				if err != nil {
					return nil, err
				}
				order := "bare first"
				if first {
					order = "pipeline first"
				}
				fmt.Fprintf(env.stderr, "concurrency %d run %d (%s): bare %.0f/s, pipeline %.0f/s, ratio %.2f; CPU per task: bare go %v + redis %v, pipeline go %v + redis %v; allocated per task: bare %d B, pipeline %d B; ledger per reply: %.2f round trips, %.2f script calls; CPU stolen by the hypervisor: bare %.0f%%, pipeline %.0f%%\n",
					conc, i+1, order, r.BarePerSec, r.PipePerSec, r.Ratio, r.BareCPU.Go, r.BareCPU.Redis, r.PipeCPU.Go, r.PipeCPU.Redis, r.BareCPU.Alloc, r.PipeCPU.Alloc,
					float64(r.Ledger.Pipelines)/float64(r.N), float64(r.Ledger.Scripts)/float64(r.N), 100*r.BareCPU.Steal, 100*r.PipeCPU.Steal)
				if r.BareDequeue != nil && r.PipeDequeue != nil {
					along := r.PipeDequeue.WithLedger
					fmt.Fprintf(env.stderr, "  dequeue round trips: bare %s; pipeline %s; pipeline, the %.0f%% begun while a ledger pipeline was out: %s\n",
						r.BareDequeue.All.Micros(), r.PipeDequeue.All.Micros(), 100*float64(along.N)/float64(max(1, r.PipeDequeue.All.N)), along.Micros())
				}
				runs = append(runs, r)
			}
			rows = append(rows, bench.PipelineRowOf(runs))
		}
		res.Pipeline = rows
		tw := newTable(env)
		fmt.Fprintf(tw, "concurrency\ttasks\truns\tbare asynq/s\tpipeline/s\tratio\tpipeline/s, lowest–highest run\tpipeline CPU/task (go + redis)\n")
		head := rows[len(rows)-1]
		for _, row := range rows {
			var pipe, cpuGo, cpuRedis []float64
			for _, r := range row.Runs {
				pipe = append(pipe, r.PipePerSec)
				cpuGo, cpuRedis = append(cpuGo, float64(r.PipeCPU.Go)), append(cpuRedis, float64(r.PipeCPU.Redis))
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.0f\t%.2f\t%.0f–%.0f\t%v + %v\n", row.Concurrency, row.N, len(row.Runs), row.BarePerSec, row.PipePerSec, row.Ratio,
				slices.Min(pipe), slices.Max(pipe), time.Duration(bench.Median(cpuGo)).Round(time.Microsecond/10), time.Duration(bench.Median(cpuRedis)).Round(time.Microsecond/10))
			if row.Concurrency == 50 {
				head = row
			}
		}
		tw.Flush()
		fmt.Fprintf(env.stdout, "bare_asynq_per_s: %.0f\n", head.BarePerSec)
		fmt.Fprintf(env.stdout, "pipeline_per_s: %.0f\n", head.PipePerSec)
		fmt.Fprintf(env.stdout, "ratio: %.2f\n", head.Ratio)
		var figs []benchFigure
		for _, row := range rows {
			figs = append(figs,
				benchFigure{"pipeline", fmt.Sprintf("bare asynq drain, concurrency %d", row.Concurrency), fmt.Sprintf("%.0f/s", row.BarePerSec)},
				benchFigure{"pipeline", fmt.Sprintf("full reply path, concurrency %d", row.Concurrency), fmt.Sprintf("%.0f/s (ratio %.2f)", row.PipePerSec, row.Ratio)})
		}
		return figs, nil
	}, nil
}
