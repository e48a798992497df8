package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/bench"
	"github.com/pagereply/pagereply/graph/sandbox"
)

func init() {
	benchModes["poll"] = runBenchPoll
}

// pollArgs are the flags of `bench poll`.
type pollArgs struct {
	posts, comments, newComments, touched int
}

func (a *pollArgs) register(fs *flag.FlagSet) {
	fs.IntVar(&a.posts, "posts", 2000, "posts on the sandbox Page")
	fs.IntVar(&a.comments, "comments", 100000, "comments on the Page in all (the memory comparison also runs a tenth of it)")
	fs.IntVar(&a.newComments, "new", 100, "comments added before the second poll")
	fs.IntVar(&a.touched, "touched", 20, "posts the new comments go to")
}

// runBenchPoll prints the cost of polling a large Page: Graph calls, time and
// comments scanned per second of a first and a second poll, and the poll's
// peak heap for a tenth of the comments and for all of them.
func runBenchPoll(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "bench poll", "bench poll [--redis URL] [--posts N] [--comments N] [--new N] [--runs R] [--flush] [--json FILE]",
		"pagereply bench poll --redis redis://127.0.0.1:6379/15 --posts 2000 --comments 100000")
	var c benchCommon
	c.register(fs)
	var a pollArgs
	a.register(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	r, err := a.runner()
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply bench poll: %v\n", err)
		return exitUsage
	}
	return c.runMode(ctx, env, "poll", r)
}

func (a pollArgs) runner() (benchRunner, error) {
	if a.posts <= 0 || a.comments <= 0 || a.newComments <= 0 || a.touched <= 0 {
		return nil, fmt.Errorf("--posts, --comments, --new and --touched must be positive")
	}
	return func(ctx context.Context, env *cmdEnv, c *benchCommon, opt asynq.RedisConnOpt, res *bench.Results) ([]benchFigure, error) {
		var (
			figs []bench.PollFigures
			last bench.PollResult
		)
		for i := 0; i < c.runs; i++ {
			r, err := bench.RunPoll(ctx, bench.PollOptions{Redis: opt, Posts: a.posts, Comments: a.comments,
				NewComments: a.newComments, TouchedPosts: a.touched, Progress: env.stderr})
			if err != nil {
				return nil, err
			}
			figs, last = append(figs, bench.PollFiguresOf(r)), r
		}
		m := bench.MedianPollFigures(figs)
		res.Poll = &bench.Section[bench.PollFigures]{Median: m, Runs: figs}

		fmt.Fprintf(env.stdout, "last of %d runs:\n", len(figs))
		tw := newTable(env)
		fmt.Fprintln(tw, "comments\tposts\tpoll\tfeed calls\tcomment calls\tduration\tcomments scanned/s\tenqueued\tpeak live heap\tpeak HeapInuse")
		for _, r := range []bench.PollRun{last.Small, last.Full} {
			if r.Comments == 0 {
				continue
			}
			scanned := 0.0
			if r.FirstDuration > 0 {
				scanned = float64(r.FirstSeen) / r.FirstDuration.Seconds()
			}
			fmt.Fprintf(tw, "%d\t%d\tfirst\t%d\t%d\t%s\t%.0f\t%d\t%.1f MiB\t%.1f MiB\n", r.Comments, r.Posts,
				r.FirstCalls[sandbox.EndpointFeed], r.FirstCalls[sandbox.EndpointComments], r.FirstDuration.Round(1e6), scanned, r.FirstEnqueued,
				float64(r.PeakLiveHeap)/(1<<20), float64(r.PeakHeapInuse)/(1<<20))
			fmt.Fprintf(tw, "%d\t%d\tsecond (+%d on %d posts)\t%d\t%d\t%s\t\t%d\t\t\n", r.Comments, r.Posts, r.NewComments, r.TouchedPosts,
				r.SecondCalls[sandbox.EndpointFeed], r.SecondCalls[sandbox.EndpointComments], r.SecondDuration.Round(1e6), r.SecondEnqueued)
		}
		tw.Flush()
		fmt.Fprintf(env.stdout, "medians of %d runs (%d comments):\n", len(figs), m.Comments)
		tw = newTable(env)
		fmt.Fprintln(tw, "first poll calls\tfirst poll\tcomments scanned/s\tsecond poll calls\tsecond poll\tpeak live heap\theap growth for 10x comments")
		fmt.Fprintf(tw, "%d\t%.2fs\t%.0f\t%d\t%.3fs\t%.1f MiB\t%.2f\n", m.FirstCalls, m.FirstSeconds, m.ScannedPerSec, m.SecondCalls, m.SecondSeconds, m.PeakLiveHeapMiB, m.HeapGrowth)
		tw.Flush()
		fmt.Fprintf(env.stdout, "first_poll_calls: %d\n", m.FirstCalls)
		fmt.Fprintf(env.stdout, "second_poll_calls: %d\n", m.SecondCalls)
		fmt.Fprintf(env.stdout, "first_poll_comments_per_s: %.0f\n", m.ScannedPerSec)
		fmt.Fprintf(env.stdout, "heap_growth_10x_comments: %.2f\n", m.HeapGrowth)
		return []benchFigure{
			{"poll", fmt.Sprintf("first poll of %d comments on %d posts: calls, time", m.Comments, m.Posts), fmt.Sprintf("%d calls, %.2fs", m.FirstCalls, m.FirstSeconds)},
			{"poll", "first poll: comments scanned per second", fmt.Sprintf("%.0f/s", m.ScannedPerSec)},
			{"poll", fmt.Sprintf("second poll (+%d comments on %d posts): calls, time", a.newComments, a.touched), fmt.Sprintf("%d calls, %.3fs", m.SecondCalls, m.SecondSeconds)},
			{"poll", "peak live heap; growth for 10x comments", fmt.Sprintf("%.1f MiB; %.2fx", m.PeakLiveHeapMiB, m.HeapGrowth)},
		}, nil
	}, nil
}
