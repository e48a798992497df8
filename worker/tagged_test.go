package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
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
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// taggedFeed lists, first in the Page's feed, a public post elsewhere that
// tags the Page, as Graph's /{page-id}/feed does: its id starts with its
// author's id, not the Page's. It counts the reads of that post's comments.
type taggedFeed struct {
	worker.PollGraph
	tagged       graph.Post
	commentReads atomic.Int32
	// Posts and comments that a read by id finds, beside the sandbox's.
	posts    map[string]graph.Post
	comments map[string]graph.Comment
	// The times of the reads by id, how many were of posts, and pauseOn,
	// when set, run at every comment read (as the observer pausing the
	// Page on the answer's usage headers).
	mu        sync.Mutex
	reads     []time.Time
	postReads int
	pauseOn   func()
}

func (g *taggedFeed) Post(ctx context.Context, token, id string) (graph.Post, error) {
	g.mu.Lock()
	g.reads = append(g.reads, time.Now())
	g.postReads++
	g.mu.Unlock()
	if p, ok := g.posts[id]; ok {
		return p, nil
	}
	return g.PollGraph.Post(ctx, token, id)
}

func (g *taggedFeed) Comment(ctx context.Context, token, id string) (graph.Comment, error) {
	g.mu.Lock()
	g.reads = append(g.reads, time.Now())
	g.mu.Unlock()
	if g.pauseOn != nil {
		g.pauseOn()
	}
	if c, ok := g.comments[id]; ok {
		return c, nil
	}
	return g.PollGraph.Comment(ctx, token, id)
}

func (g *taggedFeed) Feed(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error] {
	return func(yield func(graph.Post, error) bool) {
		if !yield(g.tagged, nil) {
			return
		}
		for p, err := range g.PollGraph.Feed(ctx, token, pageID) {
			if !yield(p, err) {
				return
			}
		}
	}
}

func (g *taggedFeed) Comments(ctx context.Context, token, postID string) iter.Seq2[graph.Comment, error] {
	if postID == g.tagged.ID {
		g.commentReads.Add(1)
	}
	return g.PollGraph.Comments(ctx, token, postID)
}

// TestPollLeavesTaggedPostsAlone: the Page's feed also lists public posts
// elsewhere that tag the Page. Their authors and commenters did not write to
// the Page: no private reply to the post, its comments not read, the post
// counted as skipped (not_on_page). The Page's own posts and visitors' posts
// on it are answered as before.
func TestPollLeavesTaggedPostsAlone(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 4747})
	pages := pollPages(h)
	page := pages[0].ID
	now := time.Now()
	visitor := h.sb.AddPost(page, sandbox.User{ID: "64000001", Name: "Visitor"}, "price of the blue one?", now.Add(-time.Hour))
	if !strings.HasPrefix(visitor, page+"_") {
		t.Fatalf("the sandbox's visitor post %s does not start with the Page's id", visitor)
	}
	g := &taggedFeed{tagged: graph.Post{
		ID: "64000002_555000111", CreatedTime: graph.Time{Time: now.Add(-time.Minute)}, UpdatedTime: graph.Time{Time: now.Add(-time.Minute)},
		CanReplyPrivately: true, From: &graph.User{ID: "64000002", Name: "Tagger"}, Message: "great price at @Page",
	}}
	p := h.pollParams(pages)
	g.PollGraph = p.Graph
	p.Graph = g
	rep, err := worker.NewPoller(p).Poll(context.Background(), page, false)
	if err != nil {
		t.Fatal(err)
	}
	if queued(t, h, "post:"+g.tagged.ID) {
		t.Error("the tagged post got a reply task")
	}
	if n := g.commentReads.Load(); n != 0 {
		t.Errorf("the tagged post's comments were read %d times", n)
	}
	if n := rep.Report.Skipped[intake.SkipNotOnPage]; n != 1 {
		t.Errorf("skipped not_on_page %d, want 1 (%v)", n, rep.Report.Skipped)
	}
	if !queued(t, h, "post:"+visitor) {
		t.Error("the visitor's post on the Page got no reply task")
	}
}

// TestWebhookLeavesTaggedPostsAlone: Meta's feed webhook reports changes to
// the Page's feed, which lists public posts elsewhere that tag the Page. As in
// the poll, neither such a post nor a comment on it gets a reply (both
// skipped not_on_page); a comment on the Page's own post does, and so does a
// comment on a post the Page itself wrote on another Page's timeline (its id
// names the other Page, its from the Page). Before, the webhook queued a reply
// to the tagged post and to its comment.
func TestWebhookLeavesTaggedPostsAlone(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 4748})
	pages := pollPages(h)
	page := pages[0].ID
	now := time.Now()
	ownPost := h.sb.AddPost(page, sandbox.User{ID: page}, "A post", now.Add(-time.Hour))
	own := h.sb.AddComment(ownPost, sandbox.User{ID: "5000001", Name: "Visitor One"}, "what price?", now.Add(-time.Minute))
	tagged := graph.Post{ID: "64000002_555000111", CreatedTime: graph.Time{Time: now.Add(-time.Minute)}, UpdatedTime: graph.Time{Time: now.Add(-time.Minute)},
		CanReplyPrivately: true, From: &graph.User{ID: "64000002", Name: "Tagger"}, Message: "great price at @Page"}
	elsewhere := graph.Post{ID: "64000009_555000333", CreatedTime: graph.Time{Time: now.Add(-time.Minute)}, UpdatedTime: graph.Time{Time: now.Add(-time.Minute)},
		From: &graph.User{ID: page, Name: "The Page"}, Message: "hello neighbours"}
	comment := func(id, from string) graph.Comment {
		return graph.Comment{ID: id, CreatedTime: graph.Time{Time: now.Add(-time.Minute)}, CanReplyPrivately: true,
			From: &graph.User{ID: from, Name: "Friend " + from}, Message: "what price?"}
	}
	g := &taggedFeed{tagged: tagged,
		posts: map[string]graph.Post{tagged.ID: tagged, elsewhere.ID: elsewhere},
		comments: map[string]graph.Comment{
			"555000111_777000222": comment("555000111_777000222", "64000003"),
			"555000333_777000444": comment("555000333_777000444", "64000004"),
		}}
	p := h.pollParams(pages)
	g.PollGraph = p.Graph
	p.Graph = g
	pl := worker.NewPoller(p)
	ctx := context.Background()
	for _, it := range []tasks.WebhookItem{
		{PageID: page, Kind: tasks.KindPost, ID: tagged.ID},
		{PageID: page, Kind: tasks.KindComment, ID: "555000111_777000222", PostID: tagged.ID},
		{PageID: page, Kind: tasks.KindComment, ID: "555000333_777000444", PostID: elsewhere.ID},
		{PageID: page, Kind: tasks.KindComment, ID: own, PostID: ownPost},
	} {
		it.ReceivedAt = time.Now().UnixMilli()
		payload, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		if err := pl.ProcessTask(ctx, asynq.NewTask(tasks.TypeWebhookItem, payload)); err != nil {
			t.Fatalf("%s %s: %v", it.Kind, it.ID, err)
		}
	}
	for _, target := range []string{"post:" + tagged.ID, "comment:555000111_777000222"} {
		if queued(t, h, target) {
			t.Errorf("%s, of a post elsewhere that tags the Page, got a reply task through the webhook", target)
		}
	}
	for _, target := range []string{"comment:555000333_777000444", "comment:" + own} {
		if !queued(t, h, target) {
			t.Errorf("%s got no reply task", target)
		}
	}
}

// foreignPostPoller returns a Poller of a one-Page harness reading at rate
// and burst, and n webhook items, comments on a post the Page wrote on another
// Page's timeline (its id names the other Page: each costs the webhook a read
// of the post beside the comment's), which its Graph, g, holds.
func foreignPostPoller(t *testing.T, seed int64, rate config.Rate, burst, n int) (*harness, *worker.Poller, *taggedFeed, []tasks.WebhookItem) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	pages := pollPages(h)
	pages[0].Rate, pages[0].Burst = rate, burst
	page := pages[0].ID
	now := time.Now()
	post := graph.Post{ID: "64000009_555000333", CreatedTime: graph.Time{Time: now.Add(-time.Minute)}, UpdatedTime: graph.Time{Time: now.Add(-time.Minute)},
		From: &graph.User{ID: page, Name: "The Page"}, Message: "hello neighbours"}
	g := &taggedFeed{posts: map[string]graph.Post{post.ID: post}, comments: map[string]graph.Comment{}}
	var items []tasks.WebhookItem
	for i := range n {
		id := fmt.Sprintf("555000333_77700%03d", i)
		g.comments[id] = graph.Comment{ID: id, CreatedTime: graph.Time{Time: now.Add(-time.Minute)}, CanReplyPrivately: true,
			From: &graph.User{ID: fmt.Sprintf("6400100%d", i), Name: "Friend"}, Message: "what price?"}
		items = append(items, tasks.WebhookItem{PageID: page, Kind: tasks.KindComment, ID: id, PostID: post.ID, ReceivedAt: now.UnixMilli()})
	}
	p := h.pollParams(pages)
	g.PollGraph = p.Graph
	p.Graph = g
	return h, worker.NewPoller(p), g, items
}

func processItem(t *testing.T, pl *worker.Poller, it tasks.WebhookItem) error {
	t.Helper()
	payload, err := json.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	return pl.ProcessTask(context.Background(), asynq.NewTask(tasks.TypeWebhookItem, payload))
}

// TestWebhookForeignPostReadBooked: the read of a comment's post that a
// webhook item makes beside the comment's takes a slot of the Page's reads
// (4 a second here, burst 1), and none is made once the comment's answer has
// paused the Page. Before, 4 items made 8 reads in the time of 4 slots, and
// the post was read on a paused Page (from the review of the session's diff).
func TestWebhookForeignPostReadBooked(t *testing.T) {
	t.Run("rate", func(t *testing.T) {
		h, pl, g, items := foreignPostPoller(t, 2202, config.Rate{N: 4, Per: time.Second}, 1, 4)
		for _, it := range items {
			if err := processItem(t, pl, it); err != nil {
				t.Fatalf("item %s: %v", it.ID, err)
			}
		}
		if len(g.reads) != 8 {
			t.Fatalf("%d reads, want 8 (a comment and its post for each item)", len(g.reads))
		}
		// 8 slots at 4 a second, one of them the burst's: the last at least
		// 6/4 s after the first (4 slots, as before, in 0.5 s).
		if span := g.reads[len(g.reads)-1].Sub(g.reads[0]); span < 1400*time.Millisecond {
			t.Errorf("8 reads in %s, want them at the Page's read rate (4/s, burst 1: at least 1.5 s)", span.Round(time.Millisecond))
		}
		for _, it := range items {
			if !queued(t, h, "comment:"+it.ID) {
				t.Errorf("comment %s got no reply task", it.ID)
			}
		}
	})
	t.Run("slow page", func(t *testing.T) {
		// 30 reads a minute, no burst: the post's slot is 2.02 s after the
		// comment's, past the 2 s an item waits for its first read. Before,
		// the item was put back, read the comment again when it came back,
		// and was put back again, for ever.
		h, pl, g, items := foreignPostPoller(t, 2205, config.Rate{N: 30, Per: time.Minute}, 0, 1)
		if err := processItem(t, pl, items[0]); err != nil {
			t.Fatalf("item: %v (reads %d, of the post %d), want it read and queued", err, len(g.reads), g.postReads)
		}
		if !queued(t, h, "comment:"+items[0].ID) {
			t.Error("the comment got no reply task")
		}
	})
	t.Run("paused", func(t *testing.T) {
		h, pl, g, items := foreignPostPoller(t, 2203, config.Rate{N: 100000, Per: time.Second}, 1, 1)
		g.pauseOn = func() {
			if _, err := h.ledger.Pause(context.Background(), items[0].PageID, time.Minute, tasks.PauseThrottled+": usage headers near the limit (97%)"); err != nil {
				t.Error(err)
			}
		}
		err := processItem(t, pl, items[0])
		if g.postReads > 0 {
			t.Errorf("the comment's answer paused the Page, and the item read the post all the same (%d reads)", g.postReads)
		}
		if err == nil || worker.IsFailure(err) {
			t.Errorf("item outcome %v, want it put back for the pause", err)
		}
	})
}
