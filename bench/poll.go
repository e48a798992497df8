package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// PollOptions configures RunPoll.
type PollOptions struct {
	// Redis is an empty database; RunPoll flushes it before each run and after.
	Redis asynq.RedisConnOpt
	// Posts on the Page; if zero, 2,000.
	Posts int
	// Comments on the Page in all, spread evenly over its posts; if zero,
	// 100,000.
	Comments int
	// SmallComments is the comment count of the first run, whose peak heap
	// the full run's is compared with; if zero, Comments/10. Negative: no
	// small run.
	SmallComments int
	// NewComments are added between the first and the second poll, on
	// TouchedPosts posts; if zero, 100 on 20 posts.
	NewComments, TouchedPosts int
	// Progress, if set, gets a line per finished poll.
	Progress io.Writer
}

// PollRun holds the figures of one sandbox Page polled twice.
type PollRun struct {
	Posts, Comments int
	// First poll: Graph calls by endpoint (feed, comments), duration, replies
	// enqueued, comments seen.
	FirstCalls    map[string]int
	FirstDuration time.Duration
	FirstEnqueued int
	FirstSeen     int
	// Second poll, after NewComments on TouchedPosts posts.
	TouchedPosts   int
	NewComments    int
	SecondCalls    map[string]int
	SecondDuration time.Duration
	SecondEnqueued int
	// PeakLiveHeap is the most live heap (as of each GC during the first
	// poll) above the live heap before it: what the poll itself holds,
	// without the in-process sandbox's store. PeakHeapInuse is the raw
	// runtime.MemStats.HeapInuse peak, sandbox included.
	PeakLiveHeap  uint64
	PeakHeapInuse uint64
}

// PollResult is RunPoll's answer: the full run and, for the memory
// comparison, the small one (zero when skipped).
type PollResult struct {
	Small, Full PollRun
	// HeapGrowth is Full.PeakLiveHeap / Small.PeakLiveHeap: near 1 when the
	// poll's memory stays flat as comments grow.
	HeapGrowth float64
}

// RunPoll measures the cost of polling one Page: a sandbox Page of Posts
// posts and Comments comments over loopback HTTP, a first poll (every post,
// every comment inside the reply window) and, after NewComments on a few
// posts, a second poll, which should read the comments of those posts only.
// The Page's rate is set high, so the figures are the poll's own cost, not
// the read limiter's pacing.
func RunPoll(ctx context.Context, o PollOptions) (PollResult, error) {
	if o.Posts <= 0 {
		o.Posts = 2000
	}
	if o.Comments <= 0 {
		o.Comments = 100000
	}
	if o.SmallComments == 0 {
		o.SmallComments = o.Comments / 10
	}
	if o.NewComments <= 0 {
		o.NewComments = 100
	}
	if o.TouchedPosts <= 0 {
		o.TouchedPosts = 20
	}
	o.TouchedPosts = min(o.TouchedPosts, o.Posts, o.NewComments)
	rdb := tasks.NewRedisClient(o.Redis)
	defer rdb.Close()
	if n, err := rdb.DBSize(ctx).Result(); err != nil {
		return PollResult{}, fmt.Errorf("bench: redis: %w", err)
	} else if n > 0 {
		return PollResult{}, fmt.Errorf("bench: the Redis database holds %d keys; give an empty one (--redis redis://host:6379/15)", n)
	}
	defer rdb.FlushDB(context.Background())

	var res PollResult
	if o.SmallComments > 0 {
		small, err := runPollOnce(ctx, o, o.SmallComments)
		if err != nil {
			return PollResult{}, err
		}
		res.Small = small
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			return PollResult{}, fmt.Errorf("bench: flush: %w", err)
		}
	}
	full, err := runPollOnce(ctx, o, o.Comments)
	if err != nil {
		return PollResult{}, err
	}
	res.Full = full
	if res.Small.PeakLiveHeap > 0 {
		res.HeapGrowth = float64(res.Full.PeakLiveHeap) / float64(res.Small.PeakLiveHeap)
	}
	return res, nil
}

func runPollOnce(ctx context.Context, o PollOptions, comments int) (PollRun, error) {
	perPost := max(1, comments/o.Posts)
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: o.Posts, Comments: perPost, Seed: 1})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	sp := sb.Pages()[0]
	page := config.Page{
		ID: sp.ID, AccessToken: sp.Token, Rate: config.Rate{N: 1_000_000, Per: time.Second}, Burst: 1000,
		ReplyTo: []string{config.ReplyComments}, MaxAge: 168 * time.Hour, ScanPosts: 720 * time.Hour,
		DefaultText: "Thanks for your comment, {{.FirstName}}!",
	}
	client := asynq.NewClient(o.Redis)
	defer client.Close()
	rdb := tasks.NewRedisClient(o.Redis)
	defer rdb.Close()
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	pl := worker.NewPoller(worker.PollParams{
		Graph:  graph.New(graph.Config{BaseURL: srv.URL, Timeout: 30 * time.Second}),
		Ledger: ledger, Enqueuer: &tasks.Enqueuer{Client: client, Ledger: ledger, MaxRetry: 10},
		Pages: []config.Page{page}, Logger: log,
		// The default (a minute, for hosts whose clock is ahead of Graph's)
		// reads once more every post commented in the minute before the
		// first poll: the seed has dozens. The second poll's figures are
		// of the new comments.
		UnchangedAfter: 2 * time.Second,
	})
	run := PollRun{Posts: o.Posts, Comments: perPost * o.Posts, TouchedPosts: o.TouchedPosts, NewComments: o.NewComments}

	// Let the seeded comments age past UnchangedAfter, so the second poll's
	// figures show new comments only.
	select {
	case <-ctx.Done():
		return run, ctx.Err()
	case <-time.After(2100 * time.Millisecond):
	}

	before := sb.Calls()
	stop := sampleHeap()
	rep, err := pl.Poll(ctx, page.ID, false)
	run.PeakLiveHeap, run.PeakHeapInuse = stop()
	if err != nil {
		return run, fmt.Errorf("bench: first poll: %w", err)
	}
	run.FirstCalls = callsSince(before, sb.Calls())
	run.FirstDuration, run.FirstEnqueued, run.FirstSeen = rep.Duration, rep.Enqueued(), rep.Seen
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "%d comments: first poll %s, %v calls, %d enqueued\n", run.Comments, rep.Duration.Round(time.Millisecond), run.FirstCalls, rep.Enqueued())
	}

	posts := sb.Posts(page.ID)
	now := time.Now()
	for i := range o.NewComments {
		p := posts[(i%o.TouchedPosts)*(len(posts)/o.TouchedPosts)]
		sb.AddComment(p.ID, sandbox.User{ID: strconv.Itoa(900_000_000 + i), Name: "New Visitor"}, "How much is it?", now)
	}
	before = sb.Calls()
	rep, err = pl.Poll(ctx, page.ID, false)
	if err != nil {
		return run, fmt.Errorf("bench: second poll: %w", err)
	}
	run.SecondCalls = callsSince(before, sb.Calls())
	run.SecondDuration, run.SecondEnqueued = rep.Duration, rep.Enqueued()
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "%d comments: second poll %s, %v calls, %d enqueued\n", run.Comments, rep.Duration.Round(time.Millisecond), run.SecondCalls, rep.Enqueued())
	}
	return run, nil
}

func callsSince(before, after map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

// sampleHeap samples the heap every millisecond until the returned function
// is called, which returns the peak live heap above the live heap at the
// start (after a GC) and the peak HeapInuse.
func sampleHeap() func() (liveAbove, inuse uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var (
		mu       sync.Mutex
		peakLive uint64
		peakUse  uint64
	)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(s)
			mu.Lock()
			peakLive = max(peakLive, s[0].Value.Uint64())
			mu.Unlock()
			if i%50 == 0 { // ReadMemStats stops the world: sample it less often
				runtime.ReadMemStats(&ms)
				mu.Lock()
				peakUse = max(peakUse, ms.HeapInuse)
				mu.Unlock()
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		<-finished
		mu.Lock()
		defer mu.Unlock()
		if peakLive < base {
			return 0, peakUse
		}
		return peakLive - base, peakUse
	}
}
