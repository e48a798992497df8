package worker_test

import (
	"context"
	"encoding/json"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// flakyGraph fails listing reads with a transient Graph error: every every-th
// listing fails after yielding after items (0: before any).
type flakyGraph struct {
	worker.PollGraph
	every, after int

	mu            sync.Mutex
	reads, failed int
}

func (f *flakyGraph) fails() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.reads%f.every == 0 {
		f.failed++
		return true
	}
	return false
}

var errFlaky = &graph.Error{HTTPStatus: 500, Code: 2, IsTransient: true, Message: "flaky", Class: graph.ClassTransient}

func flaky[T any](fail bool, after int, seq iter.Seq2[T, error]) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		n := 0
		for v, err := range seq {
			if fail && n == after {
				var zero T
				yield(zero, errFlaky)
				return
			}
			n++
			if !yield(v, err) {
				return
			}
		}
		if fail && n <= after {
			var zero T
			yield(zero, errFlaky)
		}
	}
}

func (f *flakyGraph) Feed(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error] {
	return flaky(f.fails(), f.after, f.PollGraph.Feed(ctx, token, pageID))
}

func (f *flakyGraph) Comments(ctx context.Context, token, postID string) iter.Seq2[graph.Comment, error] {
	return flaky(f.fails(), f.after, f.PollGraph.Comments(ctx, token, postID))
}

// TestPollReadRetry: a poll reads a listing again after a transient Graph
// error instead of failing, and a listing that failed half-way counts and
// enqueues each of its items once.
func TestPollReadRetry(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	for _, tc := range []struct {
		name         string
		every, after int
	}{
		{"before the first item", 3, 0},
		{"half-way", 2, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Posts: 12, Comments: 20, VisitorPosts: true, Seed: 31})
			pages := pollPages(h)
			page := pages[0].ID
			ctx := context.Background()
			dry, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, true)
			if err != nil {
				t.Fatal(err)
			}
			p := h.pollParams(pages)
			fg := &flakyGraph{PollGraph: p.Graph, every: tc.every, after: tc.after}
			p.Graph = fg
			rep, err := worker.NewPoller(p).Poll(ctx, page, false)
			if err != nil {
				t.Fatalf("poll with a listing failing now and then: %v", err)
			}
			if fg.failed == 0 {
				t.Fatal("no read failed: the test proves nothing")
			}
			if rep.Seen != dry.Seen || rep.Enqueued() != len(dry.Replies) || rep.CommentReads != dry.CommentReads {
				t.Fatalf("poll seen %d, enqueued %d, read %d posts; a clean dry run: %d, %d, %d",
					rep.Seen, rep.Enqueued(), rep.CommentReads, dry.Seen, len(dry.Replies), dry.CommentReads)
			}
			t.Logf("%d listing reads, %d failed; %d items seen, %d enqueued", fg.reads, fg.failed, rep.Seen, rep.Enqueued())
		})
	}
}

// TestPollTaskNotArchived: a poll task whose Graph reads keep failing is
// retried, then given up (completed, not archived: the next slot polls); a
// retried poll whose later slot was due by then skips the poll.
func TestPollTaskNotArchived(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 2, Seed: 33})
	pages := pollPages(h)
	pages[0].Schedule = "@every 1h"
	page := pages[0].ID
	h.sb.SetFaults(sandbox.Faults{FailRate: 1})
	h.startPollingWorker(t, pages, worker.NewPollHandler(h.pollParams(pages)))
	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })

	for _, tc := range []struct {
		name     string
		slot     time.Time
		maxRetry int
		// attempts that read the feed, each 1 + 3 times
		attempts, retried int
	}{
		{"no retry", time.Now(), 0, 1, 0},
		{"retried then given up", time.Now().Add(time.Second), 1, 2, 1},
		{"stale slot", time.Now().Add(-2 * time.Hour), 5, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := h.sb.Calls()[sandbox.EndpointFeed]
			slot := tc.slot.Truncate(time.Second)
			b, _ := json.Marshal(tasks.Poll{PageID: page, Slot: slot.Unix()})
			id := tasks.PollTaskID(page, slot)
			if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.TaskID(id), asynq.Queue(tasks.QueuePolls),
				asynq.MaxRetry(tc.maxRetry), asynq.Retention(time.Hour)); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for {
				ti, err := insp.GetTaskInfo(tasks.QueuePolls, id)
				if err == nil && ti.State == asynq.TaskStateCompleted {
					if ti.Retried != tc.retried {
						t.Errorf("completed after %d retries, want %d", ti.Retried, tc.retried)
					}
					break
				}
				if err == nil && ti.State == asynq.TaskStateArchived {
					t.Fatalf("poll task archived: %s", ti.LastErr)
				}
				if time.Now().After(deadline) {
					t.Fatalf("poll task not completed after 30s: %+v %v", ti, err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if n := h.sb.Calls()[sandbox.EndpointFeed] - before; n != 4*tc.attempts {
				t.Errorf("%d feed reads, want %d (%d attempts, each read tried 4 times)", n, 4*tc.attempts, tc.attempts)
			}
		})
	}
}

// refusingGraph answers the comments read of one post with a permanent Graph
// error, as Meta does (code 100, subcode 33) for a post removed since the
// feed was read.
type refusingGraph struct {
	worker.PollGraph
	post  string
	reads atomic.Int32
}

func (g *refusingGraph) Comments(ctx context.Context, token, postID string) iter.Seq2[graph.Comment, error] {
	if postID != g.post {
		return g.PollGraph.Comments(ctx, token, postID)
	}
	g.reads.Add(1)
	return func(yield func(graph.Comment, error) bool) {
		yield(graph.Comment{}, &graph.Error{HTTPStatus: 400, Code: 100, Subcode: 33, Class: graph.ClassPermanent,
			Message: "Unsupported get request. Object with ID '" + postID + "' does not exist"})
	}
}

// TestPollSkipsUnreadablePost: a post whose comments Graph refuses for good
// does not stop the poll: every other post's comments get their replies, and
// the next poll tries that post again.
func TestPollSkipsUnreadablePost(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 10, Comments: 20, Seed: 37})
	pages := pollPages(h)
	page := pages[0].ID
	ctx := context.Background()
	dry, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, true)
	if err != nil {
		t.Fatal(err)
	}
	// The newest post with replies to send: the feed reaches it first.
	postOf := map[string]string{}
	for _, c := range h.sb.AllComments(page) {
		postOf[c.ID] = c.PostID
	}
	perPost := map[string]int{}
	for _, r := range dry.Replies {
		if r.Target.Kind == tasks.KindComment {
			perPost[postOf[r.Target.ID]]++
		}
	}
	var bad string
	for _, p := range h.sb.Posts(page) {
		if perPost[p.ID] > 0 && (bad == "" || p.CreatedTime.After(postTime(h, page, bad))) {
			bad = p.ID
		}
	}
	if bad == "" || len(perPost) < 2 {
		t.Fatalf("seed gives replies on %d posts: the test needs two", len(perPost))
	}
	p := h.pollParams(pages)
	g := &refusingGraph{PollGraph: p.Graph, post: bad}
	p.Graph = g
	pl := worker.NewPoller(p)
	rep, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatalf("poll with one unreadable post: %v", err)
	}
	if want := len(dry.Replies) - perPost[bad]; rep.Enqueued() != want || rep.Unreadable != 1 {
		t.Errorf("enqueued %d (want %d), unreadable %d (want 1)", rep.Enqueued(), want, rep.Unreadable)
	}
	if _, err := pl.Poll(ctx, page, false); err != nil {
		t.Fatal(err)
	}
	if n := g.reads.Load(); n != 2 {
		t.Errorf("the unreadable post was read %d times in two polls, want 2", n)
	}
}

func postTime(h *harness, page, id string) time.Time {
	for _, p := range h.sb.Posts(page) {
		if p.ID == id {
			return p.CreatedTime
		}
	}
	return time.Time{}
}

// TestItemReadHonoursLatePause: a webhook item that waited for its Page's
// read slot reads nothing when the Page was paused meanwhile (Meta lengthens
// a block that is ignored); it goes back on the queue without using a retry.
func TestItemReadHonoursLatePause(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 73})
	pages := pollPages(h)
	pages[0].Rate, pages[0].Burst = config.Rate{N: 1, Per: time.Second}, 0
	page := pages[0].ID
	r := h.addComments(page, 1, "Hi")[0]
	ctx := context.Background()
	// Another read took the slot now: the item's is a second away.
	if _, err := h.ledger.TakeRead(ctx, page, worker.LimitOf(&pages[0], 0)); err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(tasks.WebhookItem{PageID: page, Kind: tasks.KindComment, ID: r.Target.ID, ReceivedAt: time.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	pl := worker.NewPoller(h.pollParams(pages))
	before := h.sb.Calls()
	done := make(chan error, 1)
	go func() { done <- pl.ProcessTask(ctx, asynq.NewTask(tasks.TypeWebhookItem, payload)) }()
	time.Sleep(300 * time.Millisecond)
	if _, err := h.ledger.Pause(ctx, page, time.Minute, "throttled: test"); err != nil {
		t.Fatal(err)
	}
	err = <-done
	if err == nil || worker.IsFailure(err) || !strings.Contains(err.Error(), "paused") {
		t.Fatalf("item result %v: want a put-back for the pause", err)
	}
	if after := h.sb.Calls(); after[sandbox.EndpointObject] != before[sandbox.EndpointObject] {
		t.Fatalf("the item read Graph after its Page was paused (calls %v → %v)", before, after)
	}
}

// TestWebhookItemGone: a webhook item whose comment was deleted before it was
// read (Graph answers code 100, subcode 33) is done, not archived: an archived
// task is the alarm for a reply failed for good. A permanent error of another
// kind still archives the item.
func TestWebhookItemGone(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 79})
	pages := pollPages(h)
	page := pages[0].ID
	params := h.pollParams(pages)
	params.Metrics = metrics.New()
	pl := worker.NewPoller(params)
	ctx := context.Background()
	item := func(kind tasks.Kind, id string) error {
		payload, err := json.Marshal(tasks.WebhookItem{PageID: page, Kind: kind, ID: id, ReceivedAt: time.Now().UnixMilli()})
		if err != nil {
			t.Fatal(err)
		}
		return pl.ProcessTask(ctx, asynq.NewTask(tasks.TypeWebhookItem, payload))
	}
	before := h.sb.Calls()[sandbox.EndpointObject]
	if err := item(tasks.KindComment, page+"_1999999999999999"); err != nil {
		t.Errorf("item of a deleted comment: %v, want done", err)
	}
	if h.sb.Calls()[sandbox.EndpointObject] == before {
		t.Error("the item was not read from Graph")
	}
	if n := readMetric(t, params.Metrics.PollSkipped.WithLabelValues(page, "gone")).GetCounter().GetValue(); n != 1 {
		t.Errorf("pagereply_skipped_total{reason=\"gone\"} = %v, want 1", n)
	}
	// Graph refusing the read otherwise (here a malformed id, code 100
	// without subcode 33... or whatever the sandbox answers) is not "gone".
	err := item(tasks.KindComment, "not an id")
	if err != nil && graph.ObjectGone(err) {
		t.Fatalf("a malformed id read as gone: %v", err)
	}
}

// TestPollReadHonoursLatePause: a poll that waited for its Page's read slot
// reads nothing when the Page was paused meanwhile (Meta lengthens a block
// that is ignored): it stops, saying why, without calling Graph.
func TestPollReadHonoursLatePause(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 74})
	pages := pollPages(h)
	pages[0].Rate, pages[0].Burst = config.Rate{N: 1, Per: time.Second}, 0
	page := pages[0].ID
	h.addComments(page, 1, "price?")
	ctx := context.Background()
	// Another read took the slot now: the poll's first read is a second away.
	if _, err := h.ledger.TakeRead(ctx, page, worker.LimitOf(&pages[0], 0)); err != nil {
		t.Fatal(err)
	}
	pl := worker.NewPoller(h.pollParams(pages))
	before := h.sb.Calls()
	type result struct {
		rep worker.PollReport
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := pl.Poll(ctx, page, false)
		done <- result{rep, err}
	}()
	time.Sleep(300 * time.Millisecond)
	if _, err := h.ledger.Pause(ctx, page, time.Minute, "throttled: test"); err != nil {
		t.Fatal(err)
	}
	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the poll did not return")
	}
	if res.err != nil || res.rep.Paused == "" {
		t.Fatalf("poll: %v, paused %q: want it stopped for the pause", res.err, res.rep.Paused)
	}
	after := h.sb.Calls()
	for _, ep := range []string{sandbox.EndpointFeed, sandbox.EndpointComments} {
		if after[ep] != before[ep] {
			t.Errorf("the poll read Graph's %s after its Page was paused (calls %v → %v)", ep, before, after)
		}
	}
}
