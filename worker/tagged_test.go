package worker_test

import (
	"context"
	"iter"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/worker"
)

// taggedFeed lists, first in the Page's feed, a public post elsewhere that
// tags the Page, as Graph's /{page-id}/feed does: its id starts with its
// author's id, not the Page's. It counts the reads of that post's comments.
type taggedFeed struct {
	worker.PollGraph
	tagged       graph.Post
	commentReads atomic.Int32
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
