package worker_test

import (
	"context"
	"iter"
	"sync/atomic"
	"testing"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// gatedGraph holds the first feed read until release is closed, and counts
// them all.
type gatedGraph struct {
	worker.PollGraph
	feeds   atomic.Int32
	entered chan struct{}
	release chan struct{}
}

func (g *gatedGraph) Feed(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error] {
	if g.feeds.Add(1) == 1 {
		close(g.entered)
		<-g.release
	}
	return g.PollGraph.Feed(ctx, token, pageID)
}

// TestOnePollOfAPageAtATime: while one poll of a Page runs, another poll of
// it (the next slot's, or one by hand) reads nothing and says so; once the
// first is done, the Page can be polled again.
func TestOnePollOfAPageAtATime(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 3, Comments: 5, Seed: 41})
	pages := pollPages(h)
	page := pages[0].ID
	ctx := context.Background()
	p := h.pollParams(pages)
	g := &gatedGraph{PollGraph: p.Graph, entered: make(chan struct{}), release: make(chan struct{})}
	p.Graph = g
	pl := worker.NewPoller(p)

	first := make(chan worker.PollReport, 1)
	go func() {
		rep, err := pl.Poll(ctx, page, false)
		if err != nil {
			t.Error(err)
		}
		first <- rep
	}()
	<-g.entered
	rep, err := worker.NewPoller(p).Poll(ctx, page, false)
	if err != nil || !rep.Busy || rep.Posts != 0 || g.feeds.Load() != 1 {
		t.Fatalf("second poll while the first runs: %+v, %v; feed reads %d", rep, err, g.feeds.Load())
	}
	// A dry run takes no lease and writes nothing: it runs beside a poll.
	dryDone := make(chan error, 1)
	go func() {
		_, err := pl.Poll(ctx, page, true)
		dryDone <- err
	}()
	close(g.release)
	if err := <-dryDone; err != nil {
		t.Fatal(err)
	}
	if rep := <-first; rep.Busy || rep.Posts == 0 {
		t.Fatalf("first poll: %+v", rep)
	}
	rep, err = pl.Poll(ctx, page, false)
	if err != nil || rep.Busy || rep.Posts == 0 {
		t.Fatalf("poll after the first ended: %+v, %v", rep, err)
	}
}
