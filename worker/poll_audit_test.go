package worker_test

import (
	"context"
	"encoding/json"
	"iter"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestPollQuietRunIsInARow: the walk of the feed past scan_posts stops after
// quietBeyondScan quiet posts in a row, not in all: a post with a fresh
// comment ends the run, and an old post with a fresh comment after fewer
// quiet posts than that is read, however many quiet posts came before the
// first one.
func TestPollQuietRunIsInARow(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 79})
	pages := pollPages(h)
	page := pages[0].ID
	now := time.Now()
	h.sb.AddPost(page, sandbox.User{ID: page}, "new post", now.Add(-time.Hour))
	for i := range 20 {
		h.sb.AddPost(page, sandbox.User{ID: page}, "quiet old post", now.Add(-time.Duration(35*24+i)*time.Hour))
	}
	b := h.sb.AddPost(page, sandbox.User{ID: page}, "old post B", now.Add(-40*24*time.Hour))
	h.sb.AddComment(b, sandbox.User{ID: "7901", Name: "Bob"}, "price?", now.Add(-time.Minute))
	for i := range 10 {
		h.sb.AddPost(page, sandbox.User{ID: page}, "older quiet post", now.Add(-time.Duration(50*24+i)*time.Hour))
	}
	c := h.sb.AddPost(page, sandbox.User{ID: page}, "old post C", now.Add(-60*24*time.Hour))
	h.sb.AddComment(c, sandbox.User{ID: "7902", Name: "Cid"}, "price?", now.Add(-time.Minute))
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(context.Background(), page, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued() != 2 || rep.BeyondScan != 2 {
		t.Errorf("poll: %d enqueued, %d posts beyond scan_posts read, want B's and C's comments (2, 2)", rep.Enqueued(), rep.BeyondScan)
	}
}

// feedFailsOnce fails the first read of the feed with a transient error
// after it listed after posts, and counts the comment reads of each post.
type feedFailsOnce struct {
	worker.PollGraph
	after int

	mu     sync.Mutex
	feeds  int
	byPost map[string]int
}

func (f *feedFailsOnce) Feed(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error] {
	f.mu.Lock()
	f.feeds++
	fail := f.feeds == 1
	f.mu.Unlock()
	return flaky(fail, f.after, f.PollGraph.Feed(ctx, token, pageID))
}

func (f *feedFailsOnce) Comments(ctx context.Context, token, postID string) iter.Seq2[graph.Comment, error] {
	f.mu.Lock()
	f.byPost[postID]++
	f.mu.Unlock()
	return f.PollGraph.Comments(ctx, token, postID)
}

// TestPollFeedReadAgainSkipsHandledPosts: a feed read again after a
// transient error goes past the posts the failed read had handled: their
// comments are not read again (a Graph call each, at the Page's read rate),
// and the report counts each post once.
func TestPollFeedReadAgainSkipsHandledPosts(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 8, Comments: 4, Seed: 43})
	pages := pollPages(h)
	page := pages[0].ID
	ctx := context.Background()
	dry, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, true)
	if err != nil {
		t.Fatal(err)
	}
	p := h.pollParams(pages)
	fg := &feedFailsOnce{PollGraph: p.Graph, after: 4, byPost: map[string]int{}}
	p.Graph = fg
	rep, err := worker.NewPoller(p).Poll(ctx, page, false)
	if err != nil {
		t.Fatalf("poll with the feed failing once: %v", err)
	}
	if fg.feeds != 2 {
		t.Fatalf("the feed was read %d times, want 2 (the test proves nothing)", fg.feeds)
	}
	if dry.CommentReads < 5 {
		t.Fatalf("a dry run read the comments of %d posts: the test needs more than 4", dry.CommentReads)
	}
	for post, n := range fg.byPost {
		if n != 1 {
			t.Errorf("the comments of post %s were read %d times, want once", post, n)
		}
	}
	if rep.Posts != dry.Posts || rep.CommentReads != dry.CommentReads || rep.Enqueued() != len(dry.Replies) {
		t.Errorf("poll: %d posts, %d comment reads, %d enqueued; a clean dry run: %d, %d, %d",
			rep.Posts, rep.CommentReads, rep.Enqueued(), dry.Posts, dry.CommentReads, len(dry.Replies))
	}
}

// refusedFeed answers every read of the feed with a permanent Graph error
// (a Page id Graph does not know: code 100).
type refusedFeed struct {
	worker.PollGraph
	reads atomic.Int32
}

func (g *refusedFeed) Feed(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error] {
	g.reads.Add(1)
	return func(yield func(graph.Post, error) bool) {
		yield(graph.Post{}, &graph.Error{HTTPStatus: 400, Code: 100, Class: graph.ClassPermanent,
			Message: "Unsupported get request. Object with ID '" + pageID + "' does not exist"})
	}
}

// TestPollRefusedForGoodIsArchived: a poll task whose feed Graph refuses for
// good (a permanent error) is not retried, which would only read the same
// refusal again and end as a completed poll: it is archived, with the error,
// where the monitor shows it as failed.
func TestPollRefusedForGoodIsArchived(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 2, Seed: 47})
	pages := pollPages(h)
	pages[0].Schedule = "@every 1h"
	page := pages[0].ID
	p := h.pollParams(pages)
	g := &refusedFeed{PollGraph: p.Graph}
	p.Graph = g
	h.startPollingWorker(t, pages, worker.NewPollHandler(p))
	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })

	slot := time.Now().Add(time.Second).Truncate(time.Second)
	b, _ := json.Marshal(tasks.Poll{PageID: page, Slot: slot.Unix()})
	id := tasks.PollTaskID(page, slot)
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.TaskID(id), asynq.Queue(tasks.QueuePolls),
		asynq.MaxRetry(3), asynq.Retention(time.Hour)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueuePolls, id)
		if err == nil && ti.State == asynq.TaskStateArchived {
			if ti.Retried != 0 || g.reads.Load() != 1 {
				t.Errorf("archived after %d retries and %d feed reads, want 0 and 1", ti.Retried, g.reads.Load())
			}
			break
		}
		if err == nil && ti.State == asynq.TaskStateCompleted {
			t.Fatalf("a poll refused for good completed, after %d retries and %d feed reads", ti.Retried, g.reads.Load())
		}
		if time.Now().After(deadline) {
			t.Fatalf("poll task not archived after 30s: %+v %v (%d feed reads)", ti, err, g.reads.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPollConversationShownLate: a conversation Graph shows after a poll
// with an updated_time a little before the newest one that poll saw (inside
// the overlap: Graph's times are whole seconds, and its listings lag) is
// read by the next poll, as comments are, not left to the next full read.
func TestPollConversationShownLate(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 83})
	pages := conversationPages(h)
	page := pages[0].ID
	now := time.Now()
	h.sb.AddMessage(page, sandbox.User{ID: "8301", Name: "Early Writer"}, "hello", now.Add(-time.Minute))
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 1 {
		t.Fatalf("first poll: %d enqueued, %v; want 1", rep.Enqueued(), err)
	}
	h.sb.AddMessage(page, sandbox.User{ID: "8302", Name: "Late Shown"}, "hello", now.Add(-time.Minute-30*time.Second))
	rep, err := pl.Poll(ctx, page, false)
	if err != nil || rep.FullRead != "" || rep.Enqueued() != 1 {
		t.Errorf("second poll: %d enqueued (full read %q), %v; want the conversation shown late", rep.Enqueued(), rep.FullRead, err)
	}
}
