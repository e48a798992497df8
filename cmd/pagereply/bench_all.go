package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/bench"
)

func init() {
	benchModes["all"] = runBenchAll
}

// benchAllOrder is the order `bench all` runs the modes in.
var benchAllOrder = []string{"pipeline", "latency", "rate", "poll", "redis", "pages"}

// runBenchAll runs every mode with its defaults, printing each mode's tables,
// then one table of every headline figure.
func runBenchAll(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "bench all", "bench all [--redis URL] [--runs R] [--duration D] [--skip mode,...] [--flush] [--json FILE]",
		"pagereply bench all --redis redis://127.0.0.1:6379/15 --runs 3 --json results.json")
	var c benchCommon
	c.register(fs)
	duration := fs.Duration("duration", 0, "if set, the --duration of latency, rate and pages (else their own defaults: 5s, 10s, 10s)")
	skip := fs.String("skip", "", "modes to leave out, comma-separated")
	// Each mode's own flags at their defaults; `pagereply bench MODE` sets them.
	var (
		pl  pipelineArgs
		lat latencyArgs
		rt  rateArgs
		po  pollArgs
		rd  redisArgs
		pg  pagesArgs
	)
	for _, reg := range []func(*flag.FlagSet){pl.register, lat.register, rt.register, po.register, rd.register, pg.register} {
		reg(flag.NewFlagSet("defaults", flag.ContinueOnError))
	}
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	pl.conc = "10,50,200"
	if *duration > 0 {
		lat.duration, rt.duration, pg.duration = *duration, *duration, *duration
	}
	skipped := map[string]bool{}
	for _, m := range strings.Split(*skip, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		if !slices.Contains(benchAllOrder, m) {
			fmt.Fprintf(env.stderr, "pagereply bench all: --skip: unknown mode %q (modes: %s)\n", m, strings.Join(benchAllOrder, ", "))
			return exitUsage
		}
		skipped[m] = true
	}
	build := map[string]func() (benchRunner, error){
		"pipeline": pl.runner, "latency": lat.runner, "rate": rt.runner, "poll": po.runner, "redis": rd.runner, "pages": pg.runner,
	}
	var runners []benchRunner
	for _, m := range benchAllOrder {
		if skipped[m] {
			continue
		}
		r, err := build[m]()
		if err != nil {
			fmt.Fprintf(env.stderr, "pagereply bench all: %s: %v\n", m, err)
			return exitUsage
		}
		name := m
		runners = append(runners, func(ctx context.Context, env *cmdEnv, c *benchCommon, opt asynq.RedisConnOpt, res *bench.Results) ([]benchFigure, error) {
			fmt.Fprintf(env.stdout, "\n== %s ==\n", name)
			start := time.Now()
			figs, err := r(ctx, env, c, opt, res)
			fmt.Fprintf(env.stderr, "bench all: %s took %s\n", name, time.Since(start).Round(time.Second))
			return figs, err
		})
	}
	figs, code := c.run(ctx, env, "all", runners...)
	if code != exitOK {
		return code
	}
	fmt.Fprintf(env.stdout, "\n== all: medians of %d runs ==\n", c.runs)
	tw := newTable(env)
	fmt.Fprintln(tw, "mode\tfigure\tmedian")
	for _, f := range figs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.mode, f.figure, f.value)
	}
	tw.Flush()
	return exitOK
}
