package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/pagereply/pagereply/bench"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

func init() {
	benchModes["poll"] = runBenchPoll
}

// runBenchPoll prints the cost of polling a large Page: Graph calls and time
// of a first and a second poll, and the poll's peak heap for a tenth of the
// comments and for all of them.
func runBenchPoll(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "bench poll", "bench poll [--redis URL] [--posts N] [--comments N] [--new N]",
		"pagereply bench poll --redis redis://127.0.0.1:6379/15 --posts 2000 --comments 100000")
	redisURL := fs.String("redis", "redis://127.0.0.1:6379/15", "an empty Redis database (flushed after each run)")
	posts := fs.Int("posts", 2000, "posts on the sandbox Page")
	comments := fs.Int("comments", 100000, "comments on the Page in all (the memory comparison also runs a tenth of it)")
	newComments := fs.Int("new", 100, "comments added before the second poll")
	touched := fs.Int("touched", 20, "posts the new comments go to")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *posts <= 0 || *comments <= 0 || *newComments <= 0 || *touched <= 0 {
		fmt.Fprintln(env.stderr, "pagereply bench poll: --posts, --comments, --new and --touched must be positive")
		return exitUsage
	}
	opt, err := tasks.RedisConnOpt(config.Redis{URL: *redisURL})
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply bench poll: --redis: %v\n", err)
		return exitUsage
	}
	res, err := bench.RunPoll(ctx, bench.PollOptions{Redis: opt, Posts: *posts, Comments: *comments,
		NewComments: *newComments, TouchedPosts: *touched, Progress: env.stderr})
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply bench poll: %v\n", err)
		return exitError
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "comments\tposts\tpoll\tfeed calls\tcomment calls\tduration\tenqueued\tpeak live heap\tpeak HeapInuse")
	for _, r := range []bench.PollRun{res.Small, res.Full} {
		if r.Comments == 0 {
			continue
		}
		fmt.Fprintf(tw, "%d\t%d\tfirst\t%d\t%d\t%s\t%d\t%.1f MiB\t%.1f MiB\n", r.Comments, r.Posts,
			r.FirstCalls[sandbox.EndpointFeed], r.FirstCalls[sandbox.EndpointComments], r.FirstDuration.Round(1e6), r.FirstEnqueued,
			float64(r.PeakLiveHeap)/(1<<20), float64(r.PeakHeapInuse)/(1<<20))
		fmt.Fprintf(tw, "%d\t%d\tsecond (+%d on %d posts)\t%d\t%d\t%s\t%d\t\t\n", r.Comments, r.Posts, r.NewComments, r.TouchedPosts,
			r.SecondCalls[sandbox.EndpointFeed], r.SecondCalls[sandbox.EndpointComments], r.SecondDuration.Round(1e6), r.SecondEnqueued)
	}
	tw.Flush()
	f := res.Full
	fmt.Fprintf(env.stdout, "first_poll_calls: %d\n", f.FirstCalls[sandbox.EndpointFeed]+f.FirstCalls[sandbox.EndpointComments])
	fmt.Fprintf(env.stdout, "second_poll_calls: %d\n", f.SecondCalls[sandbox.EndpointFeed]+f.SecondCalls[sandbox.EndpointComments])
	fmt.Fprintf(env.stdout, "heap_growth_10x_comments: %.2f\n", res.HeapGrowth)
	return exitOK
}
