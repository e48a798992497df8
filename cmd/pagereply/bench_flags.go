package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/bench"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// benchCommon are the flags every bench mode takes.
type benchCommon struct {
	redisURL string
	runs     int
	flush    bool
	jsonPath string
}

func (c *benchCommon) register(fs *flag.FlagSet) {
	fs.StringVar(&c.redisURL, "redis", "redis://127.0.0.1:6379/15", "the Redis database to measure on: it must be empty (see --flush) and is flushed between runs")
	fs.IntVar(&c.runs, "runs", 3, "runs of each measurement; the tables show medians")
	fs.BoolVar(&c.flush, "flush", false, "flush the database first when it holds keys (without it a non-empty database is refused)")
	fs.StringVar(&c.jsonPath, "json", "", "also write the results to this JSON file (other modes' sections already in it are kept; bench/perfplot draws it)")
}

// benchFigure is one line of the combined table of `bench all`.
type benchFigure struct {
	mode, figure, value string
}

// benchRunner measures one mode --runs times, prints its tables, records its
// section of the results and returns its headline figures.
type benchRunner func(ctx context.Context, env *cmdEnv, c *benchCommon, opt asynq.RedisConnOpt, res *bench.Results) ([]benchFigure, error)

// prepare checks the common flags and readies the database: an empty one, or
// one flushed on --flush.
func (c *benchCommon) prepare(ctx context.Context, env *cmdEnv, mode string) (asynq.RedisConnOpt, int) {
	if c.runs <= 0 {
		fmt.Fprintf(env.stderr, "pagereply bench %s: --runs must be positive\n", mode)
		return nil, exitUsage
	}
	opt, err := tasks.RedisConnOpt(config.Redis{URL: c.redisURL})
	if err != nil {
		// The user gave --redis, not the config's redis.url: name the flag
		// alone (the error never echoes the URL, which may hold a password).
		// The words are redis.url's (config.RedisURLProblem), a bare
		// host:port's included: they say the form to write.
		msg := strings.TrimPrefix(err.Error(), "redis.url: ")
		fmt.Fprintf(env.stderr, "pagereply bench %s: --redis: %s\n", mode, msg)
		return nil, exitUsage
	}
	// go-redis's own lines (its standard logger's "redis: ... pool.go:
	// failed to dial", one per connection) go to slog: at debug, so not
	// shown, until Redis has answered, as the error below says the same
	// once; as warnings afterwards, once per kind every few seconds, when
	// Redis goes away during a run (on stderr: stdout's lines unchanged).
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	tasks.SetRedisLoggerAt(log, slog.LevelDebug)
	rdb := tasks.NewRedisClient(opt)
	defer rdb.Close()
	n, err := rdb.DBSize(ctx).Result()
	if err != nil {
		if benchStopped(ctx, env, mode) {
			return nil, exitError
		}
		if tasks.RedisAway(err) {
			fmt.Fprintf(env.stderr, "pagereply bench %s: --redis: %v (%s)\n", mode, err, config.Redis{URL: c.redisURL}.UpHint())
		} else {
			fmt.Fprintf(env.stderr, "pagereply bench %s: --redis: %v\n", mode, err)
		}
		return nil, exitError
	}
	tasks.SetRedisLoggerAt(log, slog.LevelWarn)
	if n > 0 && !c.flush {
		fmt.Fprintf(env.stderr, "pagereply bench %s: --redis: the database holds %d keys; give an empty one or pass --flush to empty it\n", mode, n)
		return nil, exitUsage
	}
	if n > 0 {
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			if benchStopped(ctx, env, mode) {
				return nil, exitError
			}
			fmt.Fprintf(env.stderr, "pagereply bench %s: --flush: %v\n", mode, err)
			return nil, exitError
		}
	}
	return opt, -1
}

// run prepares the database, runs the modes in order, and writes the JSON
// file; it returns the figures of every mode.
func (c *benchCommon) run(ctx context.Context, env *cmdEnv, mode string, runners ...benchRunner) ([]benchFigure, int) {
	opt, code := c.prepare(ctx, env, mode)
	if code >= 0 {
		return nil, code
	}
	rdb := tasks.NewRedisClient(opt)
	machine := bench.DescribeMachine(ctx, rdb)
	_ = rdb.Close()
	fmt.Fprintf(env.stdout, "machine: %s\n", machine)
	res := &bench.Results{}
	var figs []benchFigure
	for _, r := range runners {
		f, err := r(ctx, env, c, opt, res)
		if err != nil {
			if benchStopped(ctx, env, mode) {
				return figs, exitError
			}
			fmt.Fprintf(env.stderr, "pagereply bench %s: %v\n", mode, err)
			return figs, exitError
		}
		figs = append(figs, f...)
	}
	if c.jsonPath != "" {
		err := bench.UpdateResults(c.jsonPath, func(r *bench.Results) {
			r.Machine = &machine
			if res.Pipeline != nil {
				r.Pipeline = res.Pipeline
			}
			if res.Latency != nil {
				r.Latency = res.Latency
			}
			if res.Rate != nil {
				r.Rate = res.Rate
			}
			if res.Poll != nil {
				r.Poll = res.Poll
			}
			if res.Redis != nil {
				r.Redis = res.Redis
			}
			if res.Pages != nil {
				r.Pages = res.Pages
			}
		})
		if err != nil {
			fmt.Fprintf(env.stderr, "pagereply bench %s: --json: %v\n", mode, err)
			return figs, exitError
		}
	}
	return figs, exitOK
}

// benchStopped reports whether ctx is done (Ctrl-C, SIGTERM), and then says
// that the bench stopped before its end, with no figures: its error was
// the bare "context canceled". The exit code is 1, as for a poll stopped
// before its end.
func benchStopped(ctx context.Context, env *cmdEnv, mode string) bool {
	if ctx.Err() == nil {
		return false
	}
	fmt.Fprintf(env.stderr, "pagereply bench %s: stopped (%s) before the end; no figures\n", mode, stopName(ctx))
	return true
}

// runMode is the body of a single mode's command.
func (c *benchCommon) runMode(ctx context.Context, env *cmdEnv, mode string, r benchRunner) int {
	_, code := c.run(ctx, env, mode, r)
	return code
}

// parseInts parses a comma-separated list of positive integers.
func parseInts(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("--%s: %q is not a positive integer", flagName, f)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--%s: give at least one value", flagName)
	}
	return out, nil
}

// newTable returns a tab-aligned writer for a table.
func newTable(env *cmdEnv) *tabwriter.Writer {
	return tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
}

// ms formats milliseconds for tables.
func ms(v float64) string {
	if v < 10 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}
