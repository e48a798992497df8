package worker_test

import (
	"context"
	"errors"
	"iter"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// waitingGraph answers every comments read (or the feed's) as Graph, or a
// proxy in front of it, answers when it is overloaded: HTTP 503, code 2,
// with Retry-After: 120.
type waitingGraph struct {
	worker.PollGraph
	feed         bool
	reads, feeds atomic.Int32
}

var errWait = &graph.Error{HTTPStatus: 503, Code: 2, IsTransient: true, Message: "Service temporarily unavailable",
	Class: graph.ClassTransient, RetryAfter: 2 * time.Minute}

func (g *waitingGraph) Comments(ctx context.Context, token, postID string) iter.Seq2[graph.Comment, error] {
	g.reads.Add(1)
	return func(yield func(graph.Comment, error) bool) { yield(graph.Comment{}, errWait) }
}

func (g *waitingGraph) Feed(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error] {
	if !g.feed {
		return g.PollGraph.Feed(ctx, token, pageID)
	}
	g.feeds.Add(1)
	return func(yield func(graph.Post, error) bool) { yield(graph.Post{}, errWait) }
}

// TestPollHonoursRetryAfter_audit21: a read answered with Retry-After is
// not read again within the poll, and the poll does not go on to the next
// post's comments (before: each post read four times, three posts in a
// row, a dozen calls in two seconds to what asked to wait two minutes).
// The poll fails with the answer, transient, its Retry-After kept.
func TestPollHonoursRetryAfter_audit21(t *testing.T) {
	for _, feed := range []bool{false, true} {
		h := newHarness(t, sandbox.Options{Pages: 1, Posts: 8, Comments: 10, Seed: 41})
		pages := pollPages(h)
		p := h.pollParams(pages)
		g := &waitingGraph{PollGraph: p.Graph, feed: feed}
		p.Graph = g
		_, err := worker.NewPoller(p).Poll(context.Background(), pages[0].ID, false)
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.RetryAfter != 2*time.Minute || graph.ClassOf(err) != graph.ClassTransient {
			t.Fatalf("feed %v: poll error %v, want the 503 with its Retry-After", feed, err)
		}
		if n := g.reads.Load() + g.feeds.Load(); n != 1 {
			t.Errorf("feed %v: %d reads answered Retry-After in one poll, want 1", feed, n)
		}
	}
}
