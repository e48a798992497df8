package worker_test

import (
	"context"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestPollLeaseOutlastsALongReadWait: a poll that waits for a read slot
// further away than its lease (a Page read at a low rate) keeps the lease
// through the wait (its renewals go on whatever the poll does): renewed
// only once a quarter of the lease had passed since the last time, it
// lapsed in the wait, and the next slot's poll ran beside it, reading
// everything again and holding another worker slot. The lease is 2 s here
// (1 s left a renewal too little room on a loaded machine: a poll stops
// when none is confirmed within the lease), the read slot after the first
// comment page about 5 s away.
func TestPollLeaseOutlastsALongReadWait(t *testing.T) {
	t.Parallel() // waits out a read slot
	h, pages, calls := slowCommentPages(t, 311, config.Rate{N: 1, Per: 5 * time.Second}, 2)
	page := pages[0].ID
	p := h.pollParams(pages)
	p.Graph = graph.New(graph.Config{BaseURL: calls.url, Timeout: 5 * time.Second})
	p.Lease = 2 * time.Second
	first := make(chan error, 1)
	go func() {
		_, err := worker.NewPoller(p).Poll(context.Background(), page, false)
		first <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); len(calls.times()) < 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first poll read no comments in 30 s")
		}
	}
	// Past the lease, inside the wait for the next comment page.
	time.Sleep(3 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rep, _ := worker.NewPoller(p).Poll(ctx, page, false)
	if !rep.Busy {
		t.Errorf("a second poll ran beside the first, which waited for its read slot: the lease lapsed in the wait (report %+v)", rep.Report)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := len(calls.times()); n != 2 {
		t.Errorf("%d comment calls, want the first poll's 2", n)
	}
}

// appThrottledFeed answers every read of the feed as Graph does when the
// whole app is over its limit (code 4).
type appThrottledFeed struct{ worker.PollGraph }

func (appThrottledFeed) Feed(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error] {
	return func(yield func(graph.Post, error) bool) {
		yield(graph.Post{}, &graph.Error{HTTPStatus: 403, Code: 4, Class: graph.ClassThrottled, Endpoint: graph.EndpointFeed,
			Message: "(#4) Application request limit reached"})
	}
}

// TestDryPollAppThrottledPausesNothing: a dry run that Graph answers with
// the app's limit (code 4) says so in its error and writes nothing, no
// pause of the Page: the limit may be the dry run's own app (another app's
// token tried before a restart), and a pause would stop the workers' replies
// of a Page whose app is not throttled. The Page's own throttle still pauses
// it (TestDryPollThrottledPauses).
func TestDryPollAppThrottledPausesNothing(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 2, Seed: 312})
	pages := pollPages(h)
	page := pages[0].ID
	p := h.pollParams(pages)
	p.Graph = appThrottledFeed{p.Graph}
	ctx := context.Background()
	rep, err := worker.NewPoller(p).Poll(ctx, page, true)
	if graph.ClassOf(err) != graph.ClassThrottled || !graph.AppThrottled(err) {
		t.Fatalf("dry run with the app throttled: %v; want the app's limit", err)
	}
	if rep.Paused != "" {
		t.Errorf("dry run reports the Page paused: %q", rep.Paused)
	}
	if keys := h.db.Client.Keys(ctx, "*").Val(); len(keys) != 0 {
		t.Errorf("dry run wrote %d keys to Redis: %v", len(keys), keys)
	}
}

// TestDryPollOfFailingPostWritesNothing: a dry run that skips a post whose
// comments keep failing (code 1, read after read) writes nothing to Redis:
// no record of the post's failing reads, which would make the next real
// poll read it once, without its retries, as a post that failed before.
func TestDryPollOfFailingPostWritesNothing(t *testing.T) {
	t.Parallel() // waits out read retries
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 313})
	pages := pollPages(h)
	page := pages[0].ID
	now := time.Now()
	good := h.sb.AddPost(page, sandbox.User{ID: page}, "older post", now.Add(-5*time.Hour))
	h.sb.AddComment(good, sandbox.User{ID: "31300001", Name: "Friend"}, "price?", now.Add(-time.Minute))
	bad := h.sb.AddPost(page, sandbox.User{ID: page}, "newer post", now.Add(-time.Hour))
	h.sb.AddComment(bad, sandbox.User{ID: "31300002", Name: "Other"}, "price?", now.Add(-time.Minute))
	p := h.pollParams(pages)
	p.Graph, _ = failingGraph(t, h, func(path string) bool { return commentReadOf(path, map[string]bool{bad: true}) })
	ctx := context.Background()
	rep, err := worker.NewPoller(p).Poll(ctx, page, true)
	if err != nil || rep.Unreadable != 1 || len(rep.Replies) != 1 {
		t.Fatalf("dry run: %v, %d unreadable, %d replies; want the failing post skipped, the other's reply listed", err, rep.Unreadable, len(rep.Replies))
	}
	if keys := h.db.Client.Keys(ctx, "*").Val(); len(keys) != 0 {
		t.Errorf("dry run wrote %d keys to Redis: %v", len(keys), keys)
	}
}

// pausingComments pauses its Page with pause when the comments of a post
// are first read, as a send's throttle would meanwhile.
type pausingComments struct {
	worker.PollGraph
	ledger *tasks.Ledger
	page   string
	pause  string
	once   sync.Once
}

func (g *pausingComments) Comments(ctx context.Context, token, postID string) iter.Seq2[graph.Comment, error] {
	g.once.Do(func() {
		if _, err := g.ledger.Pause(ctx, g.page, 10*time.Minute, g.pause); err != nil {
			panic(err)
		}
	})
	return g.PollGraph.Comments(ctx, token, postID)
}

// TestDryPollStopsAtAnotherPause: a dry run reads past the page_broken
// pause of the Page's old token, and that one only: a pause set while it
// reads (Graph throttled the Page's replies) stops it as it stops a poll,
// for a call more on a throttled Page lengthens its block.
func TestDryPollStopsAtAnotherPause(t *testing.T) {
	page, p := staleBrokenPause(t, 314)
	ctx := context.Background()
	const throttled = "throttled: (#32) Page request limit reached"
	p.Graph = &pausingComments{PollGraph: p.Graph, ledger: p.Ledger, page: page, pause: throttled}
	rep, err := worker.NewPoller(p).Poll(ctx, page, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.PauseLiftedAtStart == "" || rep.Paused != throttled || len(rep.Replies) != 0 {
		t.Errorf("dry run paused meanwhile: lifted at start %q, paused %q, %d replies; want it stopped by the throttle before the comments",
			rep.PauseLiftedAtStart, rep.Paused, len(rep.Replies))
	}
}

// pulledConversations counts the conversations a walk took from the listing.
type pulledConversations struct {
	worker.PollGraph
	pulled atomic.Int32
}

func (g *pulledConversations) Conversations(ctx context.Context, token, pageID string) iter.Seq2[graph.Conversation, error] {
	return func(yield func(graph.Conversation, error) bool) {
		for c, err := range g.PollGraph.Conversations(ctx, token, pageID) {
			g.pulled.Add(1)
			if !yield(c, err) {
				return
			}
		}
	}
}

// TestPollConversationsStopAtWhatWasRead: the walk of the conversations,
// most recently updated first, stops at the first one the last poll read
// (less the overlap): it does not go on through the listing's later pages,
// one Graph read each at about 2 a second, to the end of the messaging
// window at every poll.
func TestPollConversationsStopAtWhatWasRead(t *testing.T) {
	h, pages := earlyWriters(t, 315, 4)
	page := pages[0].ID
	p := h.pollParams(pages)
	g := &pulledConversations{PollGraph: p.Graph}
	p.Graph = g
	pl := worker.NewPoller(p)
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Conversations != 4 {
		t.Fatalf("first poll: %d conversations, %v; want 4", rep.Conversations, err)
	}
	g.pulled.Store(0)
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Conversations != 1 {
		t.Fatalf("second poll: %d conversations, %v; want the newest one, inside the overlap", rep.Conversations, err)
	}
	if n := g.pulled.Load(); n != 2 {
		t.Errorf("second poll took %d conversations from the listing, want 2: the newest, and the one before it that ends the walk", n)
	}
}

// TestPollScanPostsUnsetIsThirtyDays: a Page without scan_posts looks at
// the posts of the last 720 hours: a post of two days ago with a fresh
// comment is inside it, not one the walk reads beyond scan_posts (where a
// run of quiet posts ends the walk).
func TestPollScanPostsUnsetIsThirtyDays(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 316})
	pages := pollPages(h)
	pages[0].ScanPosts = 0
	page := pages[0].ID
	now := time.Now()
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "post of two days ago", now.Add(-48*time.Hour))
	h.sb.AddComment(post, sandbox.User{ID: "31600001", Name: "Friend"}, "price?", now.Add(-time.Minute))
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(context.Background(), page, false)
	if err != nil || rep.Enqueued() != 1 || rep.BeyondScan != 0 {
		t.Errorf("poll: %v, %d enqueued, %d read beyond scan_posts; want 1 and 0", err, rep.Enqueued(), rep.BeyondScan)
	}
}
