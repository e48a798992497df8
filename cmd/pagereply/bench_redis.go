package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/bench"
)

func init() {
	benchModes["redis"] = runBenchRedis
}

// redisArgs are the flags of `bench redis`.
type redisArgs struct {
	n           int
	pages       int
	concurrency int
	idle        time.Duration
}

func (a *redisArgs) register(fs *flag.FlagSet) {
	fs.IntVar(&a.n, "n", 10000, "replies per run")
	fs.IntVar(&a.pages, "pages", 10, "Pages sharing the replies")
	fs.IntVar(&a.concurrency, "concurrency", 50, "worker concurrency")
	fs.DurationVar(&a.idle, "idle", 3*time.Second, "how long an idle worker is watched to count asynq's own bookkeeping")
}

// runBenchRedis prints Redis memory and commands per reply.
func runBenchRedis(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "bench redis", "bench redis [--redis URL] [-n N] [--pages N] [--runs R] [--flush] [--json FILE]",
		"pagereply bench redis --redis redis://127.0.0.1:6390/15 -n 10000 --runs 3")
	var c benchCommon
	c.register(fs)
	var a redisArgs
	a.register(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	r, err := a.runner()
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply bench redis: %v\n", err)
		return exitUsage
	}
	return c.runMode(ctx, env, "redis", r)
}

func (a redisArgs) runner() (benchRunner, error) {
	if a.n <= 0 || a.pages <= 0 || a.concurrency <= 0 || a.idle <= 0 {
		return nil, fmt.Errorf("-n, --pages, --concurrency and --idle must be positive")
	}
	return func(ctx context.Context, env *cmdEnv, c *benchCommon, opt asynq.RedisConnOpt, res *bench.Results) ([]benchFigure, error) {
		var runs []bench.RedisResult
		for i := 0; i < c.runs; i++ {
			r, err := bench.RunRedis(ctx, bench.RedisOptions{Redis: opt, N: a.n, Pages: a.pages, Concurrency: a.concurrency, Idle: a.idle, Progress: env.stderr})
			if err != nil {
				return nil, err
			}
			runs = append(runs, r)
		}
		m := bench.MedianRedisResults(runs)
		res.Redis = &bench.Section[bench.RedisResult]{Median: m, Runs: runs}
		if m.OtherClients > 0 {
			fmt.Fprintf(env.stdout, "WARNING: %d connections to other databases of this Redis were active: used_memory and commandstats are server-wide, so those figures include their work (MEMORY USAGE and client-side counts do not); use a Redis of your own for them\n", m.OtherClients)
		}
		fmt.Fprintf(env.stdout, "Redis memory per reply (%d replies over %d Pages; medians of %d runs)\n", m.N, a.pages, len(runs))
		tw := newTable(env)
		fmt.Fprintln(tw, "what\tbytes per reply\thow")
		fmt.Fprintf(tw, "queued reply\t%.0f\tsum of MEMORY USAGE over the database's keys / N\n", m.QueuedKeyMemory)
		fmt.Fprintf(tw, "queued reply\t%.0f\tINFO used_memory growth / N\n", m.QueuedUsedMemory)
		fmt.Fprintf(tw, "sent reply (retained task + ledger entry)\t%.0f\tsum of MEMORY USAGE / N\n", m.SentKeyMemory)
		fmt.Fprintf(tw, "sent reply (retained task + ledger entry)\t%.0f\tINFO used_memory growth / N\n", m.SentUsedMemory)
		fmt.Fprintf(tw, "  ledger entry (kept 8 days)\t%.0f\tMEMORY USAGE of the entry key\n", m.LedgerEntry)
		fmt.Fprintf(tw, "  retained task (kept 1 hour)\t%.0f\tMEMORY USAGE of the task hash + its share of the completed set\n", m.RetainedTask)
		tw.Flush()

		var client bench.Calls
		for _, o := range m.Owners {
			client.Commands += o.Commands
			client.RoundTrips += o.RoundTrips
		}
		fmt.Fprintf(env.stdout, "\nRedis work per sent reply (enqueue through tasks.Enqueuer, send through the worker, in-process sandbox): %.1f round trips, %.1f commands sent, %.1f commands executed by Redis (scripts' inner commands included)\n",
			client.RoundTrips, client.Commands, m.CommandsTotal)
		tw = newTable(env)
		fmt.Fprintln(tw, "sender (client side)\tround trips\tcommands\tby command")
		for _, o := range []string{"enqueue", "ledger", "asynq-server"} {
			c := m.Owners[o]
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%s\n", ownerLabel(o), c.RoundTrips, c.Commands, perCommand(c.ByCommand, 0.005))
		}
		fmt.Fprintf(tw, "  of which asynq bookkeeping\t%.2f\t%.2f\tidle server: %.1f commands/s, over the %.2fs drain\n",
			m.BookkeepingPerReply.RoundTrips, m.BookkeepingPerReply.Commands, m.BookkeepingPerSec.Commands, m.Drain)
		tw.Flush()
		fmt.Fprintf(env.stdout, "\nexecuted by Redis per reply (INFO commandstats): %s\n", perCommand(m.Commands, 0.005))
		fmt.Fprintf(env.stdout, "redis_bytes_per_queued_reply: %.0f\n", m.QueuedKeyMemory)
		fmt.Fprintf(env.stdout, "redis_bytes_per_ledger_entry: %.0f\n", m.LedgerEntry)
		fmt.Fprintf(env.stdout, "redis_round_trips_per_reply: %.2f\n", client.RoundTrips)
		fmt.Fprintf(env.stdout, "redis_commands_per_reply: %.2f\n", m.CommandsTotal)
		return []benchFigure{
			{"redis", "memory per queued reply", fmt.Sprintf("%.0f B", m.QueuedKeyMemory)},
			{"redis", "memory per sent reply (retained task + ledger entry)", fmt.Sprintf("%.0f B (ledger entry %.0f B)", m.SentKeyMemory, m.LedgerEntry)},
			{"redis", "round trips per reply (enqueue + ledger + asynq)", fmt.Sprintf("%.2f (%.2f + %.2f + %.2f)", client.RoundTrips,
				m.Owners["enqueue"].RoundTrips, m.Owners["ledger"].RoundTrips, m.Owners["asynq-server"].RoundTrips)},
			{"redis", "commands executed by Redis per reply", fmt.Sprintf("%.1f", m.CommandsTotal)},
		}, nil
	}, nil
}

func ownerLabel(o string) string {
	switch o {
	case "enqueue":
		return "producer (ledger read + asynq enqueue)"
	case "ledger":
		return "worker's ledger (reserve, admit, mark)"
	case "asynq-server":
		return "asynq server (dequeue, done, bookkeeping)"
	}
	return o
}

// perCommand writes "evalsha 2.31, get 1.00" for the commands above min,
// largest first.
func perCommand(m map[string]float64, min float64) string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] > m[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for _, k := range keys {
		if m[k] >= min {
			parts = append(parts, fmt.Sprintf("%s %.2f", k, m[k]))
		}
	}
	return strings.Join(parts, ", ")
}
