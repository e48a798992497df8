package worker_test

import (
	"context"
	"fmt"
	"iter"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// clockedPoller returns a Poller of pages whose clock (reply windows, full
// reads) is *clock.
func clockedPoller(h *harness, pages []config.Page, g worker.PollGraph, clock *time.Time) *worker.Poller {
	p := h.pollParams(pages)
	if g != nil {
		p.Graph = g
	}
	p.Now = func() time.Time { return *clock }
	return worker.NewPoller(p)
}

// TestPollCommentShownLate: Facebook holds a comment for moderation or spam
// filtering and shows it later with its original created_time, and a
// listing can lag. A comment that first shows after a poll, dated 2 hours or
// 3 days before it, on a post the poll remembers (its updated_time unmoved,
// or moved by a fresh comment beside it), is older than where the next
// incremental poll stops; the next full read (every quarter of the reply
// window, 6 h here) still queues it, inside its window.
func TestPollCommentShownLate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		late  time.Duration
		fresh bool // a fresh comment moves the post's updated_time too
	}{
		{name: "2h", late: 2 * time.Hour},
		{name: "3d", late: 72 * time.Hour},
		{name: "2h, post updated", late: 2 * time.Hour, fresh: true},
		{name: "3d, post updated", late: 72 * time.Hour, fresh: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6101})
			pages := commentPages(h)
			page := pages[0].ID
			now := time.Now().Truncate(time.Second)
			clock := now
			pl := clockedPoller(h, pages, nil, &clock)
			ctx := context.Background()
			post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", now.Add(-5*24*time.Hour))
			h.sb.AddComment(post, sandbox.User{ID: "61010001", Name: "Ann First"}, "hello", now.Add(-5*time.Minute))
			if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 1 {
				t.Fatalf("first poll: %d enqueued, %v", rep.Enqueued(), err)
			}
			late := h.sb.AddComment(post, sandbox.User{ID: "61010002", Name: "Lou Late"}, "hello", now.Add(-tc.late))
			if tc.fresh {
				h.sb.AddComment(post, sandbox.User{ID: "61010003", Name: "Fay Fresh"}, "hello", now.Add(30*time.Second))
			}
			clock = now.Add(time.Minute)
			if _, err := pl.Poll(ctx, page, false); err != nil {
				t.Fatal(err)
			}
			t.Logf("next incremental poll queued the late comment: %v", queued(t, h, "comment:"+late))
			clock = now.Add(6 * time.Hour)
			rep, err := pl.Poll(ctx, page, false)
			if err != nil {
				t.Fatal(err)
			}
			if rep.FullRead == "" {
				t.Errorf("poll 6 h after the first: no full read")
			}
			if !queued(t, h, "comment:"+late) {
				t.Errorf("comment shown %s late: no reply task after the full read", tc.late)
			}
		})
	}
}

// TestPollCanReplyPrivatelyTurnsTrue: a comment whose can_reply_privately is
// false at one poll and true later is skipped then, and queued by a later
// poll inside its window (the full read: its post's updated_time does not
// move for it).
func TestPollCanReplyPrivatelyTurnsTrue(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6102})
	pages := commentPages(h)
	page := pages[0].ID
	now := time.Now().Truncate(time.Second)
	clock := now
	pl := clockedPoller(h, pages, nil, &clock)
	ctx := context.Background()
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", now.Add(-24*time.Hour))
	c := h.sb.AddComment(post, sandbox.User{ID: "61020001", Name: "Ann First"}, "hello", now.Add(-5*time.Minute))
	h.sb.SetCanReplyPrivately(c, false)
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 0 {
		t.Fatalf("first poll: %d enqueued, %v; want none", rep.Enqueued(), err)
	}
	h.sb.SetCanReplyPrivately(c, true)
	for _, d := range []time.Duration{time.Minute, 6 * time.Hour} {
		clock = now.Add(d)
		if _, err := pl.Poll(ctx, page, false); err != nil {
			t.Fatal(err)
		}
	}
	if !queued(t, h, "comment:"+c) {
		t.Errorf("comment replyable from the second poll on: no reply task after the full read")
	}
}

// TestPollReplyInThread: a reply in a thread (a comment with a parent) on a
// post the poll remembers, under a comment older than where the next poll
// stops, comes in filter=stream's listing by its own time and gets its reply.
func TestPollReplyInThread(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6103})
	pages := commentPages(h)
	page := pages[0].ID
	now := time.Now().Truncate(time.Second)
	clock := now
	pl := clockedPoller(h, pages, nil, &clock)
	ctx := context.Background()
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", now.Add(-3*24*time.Hour))
	top := h.sb.AddComment(post, sandbox.User{ID: "61030001", Name: "Ann First"}, "hello", now.Add(-2*24*time.Hour))
	h.sb.AddComment(post, sandbox.User{ID: "61030002", Name: "Bob Second"}, "hello", now.Add(-time.Hour))
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 2 {
		t.Fatalf("first poll: %d enqueued, %v", rep.Enqueued(), err)
	}
	reply := h.sb.AddReply(top, sandbox.User{ID: "61030003", Name: "Cid Reply"}, "me too", now.Add(-10*time.Second))
	pageReply := h.sb.AddReply(top, sandbox.User{ID: page}, "thanks", now.Add(-5*time.Second))
	clock = now.Add(time.Minute)
	if _, err := pl.Poll(ctx, page, false); err != nil {
		t.Fatal(err)
	}
	if !queued(t, h, "comment:"+reply) {
		t.Errorf("reply in a thread: no reply task")
	}
	if queued(t, h, "comment:"+pageReply) {
		t.Errorf("the Page's own reply in a thread got a reply task")
	}
}

// TestPollCommentsAddedMidWalk: comments that arrive while a poll pages
// through a post's comments (newest first, cursor paging) are before the
// cursor, so that walk does not see them; the post's updated_time moves past
// what the poll recorded, and the next poll queues them. None of the
// comments the walk was paging through is passed over.
func TestPollCommentsAddedMidWalk(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6104})
	pages := commentPages(h)
	page := pages[0].ID
	now := time.Now().Truncate(time.Second)
	clock := now
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", now.Add(-2*24*time.Hour))
	for i := range 250 {
		h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("6104%04d", i), Name: "Old Friend"}, "hello", now.Add(-time.Duration(300-i)*time.Minute))
	}
	var added []string
	g := &listingGraph{PollGraph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 5 * time.Second}), after: 100, between: func() {
		for j := range 5 {
			added = append(added, h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("6104900%d", j), Name: "New Friend"}, "hello", time.Now()))
		}
	}}
	pl := clockedPoller(h, pages, g, &clock)
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 250 {
		t.Fatalf("first poll: %d enqueued, %v; want the 250 it was paging through", rep.Enqueued(), err)
	}
	clock = now.Add(time.Minute)
	if _, err := pl.Poll(ctx, page, false); err != nil {
		t.Fatal(err)
	}
	for _, id := range added {
		if !queued(t, h, "comment:"+id) {
			t.Errorf("comment %s added mid-walk: no reply task after the next poll", id)
		}
	}
}

// throttlingComments answers Graph's code 32 (Page request limit) after
// after comments of the listing of post, once armed.
type throttlingComments struct {
	worker.PollGraph
	post  string
	after int
	armed atomic.Bool
}

func (g *throttlingComments) Comments(ctx context.Context, token, postID string) iter.Seq2[graph.Comment, error] {
	seq := g.PollGraph.Comments(ctx, token, postID)
	if postID != g.post || !g.armed.Load() {
		return seq
	}
	return func(yield func(graph.Comment, error) bool) {
		n := 0
		for c, err := range seq {
			if err == nil && n == g.after {
				g.armed.Store(false)
				yield(graph.Comment{}, &graph.Error{HTTPStatus: 400, Code: 32, Class: graph.ClassThrottled, Endpoint: graph.EndpointComments,
					Message: "(#32) Page request limit reached"})
				return
			}
			n++
			if !yield(c, err) {
				return
			}
		}
	}
}

// TestPollThrottledMidListingResumes: Graph throttles a poll in the middle
// of a post's comments (its second page). The Page is paused and the poll
// stops; once the pause is over, the next poll reads that post again, not
// from where the post's newest comment would say, and every comment the
// stopped poll had not reached, on that post and on the posts after it,
// gets its reply.
func TestPollThrottledMidListingResumes(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6105})
	pages := commentPages(h)
	page := pages[0].ID
	now := time.Now().Truncate(time.Second)
	clock := now
	first := h.sb.AddPost(page, sandbox.User{ID: page}, "first", now.Add(-3*24*time.Hour))
	second := h.sb.AddPost(page, sandbox.User{ID: page}, "second", now.Add(-2*24*time.Hour))
	for i := range 150 {
		h.sb.AddComment(second, sandbox.User{ID: fmt.Sprintf("6105%04d", i), Name: "Sam Second"}, "hello", now.Add(-time.Duration(200-i)*time.Minute))
	}
	for i := range 10 {
		h.sb.AddComment(first, sandbox.User{ID: fmt.Sprintf("6105%04d", 5000+i), Name: "Fay First"}, "hello", now.Add(-time.Duration(2000-i)*time.Minute))
	}
	g := &throttlingComments{PollGraph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 5 * time.Second}), post: second, after: 120}
	g.armed.Store(true)
	pl := clockedPoller(h, pages, g, &clock)
	ctx := context.Background()
	rep, err := pl.Poll(ctx, page, false)
	if err == nil || rep.Paused == "" {
		t.Fatalf("poll throttled mid-listing: paused %q, %v; want it stopped and the Page paused", rep.Paused, err)
	}
	if err := h.ledger.Resume(ctx, page); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(time.Minute)
	if _, err := pl.Poll(ctx, page, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range h.sb.AllComments(page) {
		if !queued(t, h, "comment:"+c.ID) {
			t.Errorf("comment %s of %s: no reply task after the poll that followed the throttled one", c.ID, c.From.Name)
		}
	}
}

// TestPollListingBehindUpdatedTime: Graph's listings are eventually
// consistent: a post's updated_time can count a comment that its comments
// listing does not show yet. The poll that reads the post then must not take
// that updated_time for read: the next poll reads the post again, and queues
// the comment once the listing shows it. Before, the next polls took the
// post for unchanged and left the comment to the next full read, up to 6
// hours later with the default window, and past its window (never) with a
// short max_age (15m here: a full read every 10 minutes).
func TestPollListingBehindUpdatedTime(t *testing.T) {
	for _, tc := range []struct {
		name   string
		maxAge time.Duration
	}{
		{name: "default window", maxAge: 168 * time.Hour},
		{name: "max_age 15m", maxAge: 15 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6106})
			pages := commentPages(h)
			pages[0].MaxAge = tc.maxAge
			page := pages[0].ID
			now := time.Now().Truncate(time.Second)
			clock := now
			pl := clockedPoller(h, pages, nil, &clock)
			ctx := context.Background()
			post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", now.Add(-time.Hour))
			h.sb.AddComment(post, sandbox.User{ID: "61060001", Name: "Ann First"}, "hello", now.Add(-10*time.Minute))
			// Counted in the post's updated_time, not listed yet.
			lagging := h.sb.AddComment(post, sandbox.User{ID: "61060002", Name: "Lee Lagging"}, "hello", now.Add(-6*time.Minute))
			h.sb.HideComment(lagging)
			if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 1 {
				t.Fatalf("first poll: %d enqueued, %v; want the listed comment", rep.Enqueued(), err)
			}
			h.sb.ShowComment(lagging)
			for _, d := range []time.Duration{time.Minute, 10 * time.Minute} {
				clock = now.Add(d)
				if _, err := pl.Poll(ctx, page, false); err != nil {
					t.Fatal(err)
				}
				if tc.maxAge == 168*time.Hour {
					break // the next poll must have it; a full read is hours away
				}
			}
			if !queued(t, h, "comment:"+lagging) {
				t.Errorf("comment listed one poll late: no reply task")
			}
		})
	}
}

// TestPollListingBehindReadAgainForAWhile: a post whose updated_time no
// listed comment explains (here a comment Graph keeps hidden) is read again
// at the next poll while its updated_time is recent, and not once it is
// older than the listing could lag: such a post costs no comment read at
// every poll for ever.
func TestPollListingBehindReadAgainForAWhile(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ago   time.Duration // the hidden comment, before now
		reads int           // comment reads of the second poll
	}{
		{name: "5m ago", ago: 5 * time.Minute, reads: 1},
		{name: "20m ago", ago: 20 * time.Minute, reads: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6107})
			pages := commentPages(h)
			page := pages[0].ID
			now := time.Now().Truncate(time.Second)
			clock := now
			pl := clockedPoller(h, pages, nil, &clock)
			ctx := context.Background()
			post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", now.Add(-time.Hour))
			h.sb.AddComment(post, sandbox.User{ID: "61070001", Name: "Ann First"}, "hello", now.Add(-30*time.Minute))
			h.sb.HideComment(h.sb.AddComment(post, sandbox.User{ID: "61070002", Name: "Hal Hidden"}, "hello", now.Add(-tc.ago)))
			if _, err := pl.Poll(ctx, page, false); err != nil {
				t.Fatal(err)
			}
			clock = now.Add(time.Minute)
			rep, err := pl.Poll(ctx, page, false)
			if err != nil {
				t.Fatal(err)
			}
			if rep.CommentReads != tc.reads {
				t.Errorf("second poll: %d comment reads, want %d", rep.CommentReads, tc.reads)
			}
		})
	}
}
