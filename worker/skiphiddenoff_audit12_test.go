package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/worker"
)

// TestSkipHiddenTurnedOffReadsAll_audit12: an operator turns skip_hidden off
// (the Page's hidden comments are to be answered after all). The comment a
// poll skipped as hidden is eligible from then on, but its post has not
// changed since, so only a full read finds it again: as for a new
// default_text, the change of the key must make the next poll a full read.
// Seen failing before the fix: the poll read nothing (the post unchanged)
// and the hidden comment waited for the periodic full read, up to 6 hours,
// past its reply window when that ended sooner.
func TestSkipHiddenTurnedOffReadsAll_audit12(t *testing.T) {
	f := newHiddenFixture(t, 1207, true)
	h := f.h
	if !h.sb.SetHidden(f.hidden.Target.ID, true) {
		t.Fatal("SetHidden: unknown comment")
	}
	page := f.page
	if rep := f.pollAs(t, page); rep.Enqueued() != len(f.replies)-1 || rep.Skipped["hidden"] != 1 {
		t.Fatalf("poll with skip_hidden: %d queued, %d skipped as hidden; want %d, 1", rep.Enqueued(), rep.Skipped["hidden"], len(f.replies)-1)
	}
	if rep := f.pollAs(t, page); rep.CommentReads != 0 || rep.FullRead != "" {
		t.Fatalf("second poll: %d comment reads, full read %q; want none (nothing changed)", rep.CommentReads, rep.FullRead)
	}
	page.SkipHidden = false
	rep := f.pollAs(t, page)
	if rep.Enqueued() != 1 || !strings.Contains(rep.FullRead, "settings changed") {
		t.Fatalf("poll after skip_hidden was turned off: %d queued, full read %q; want the hidden comment's reply queued by a full read", rep.Enqueued(), rep.FullRead)
	}
}

// pollAs polls pg (the fixture's Page, its settings changed or not)
// through the fixture's Graph once and returns the poll's report.
func (f *hiddenFixture) pollAs(t *testing.T, pg config.Page) worker.PollReport {
	t.Helper()
	pp := f.h.pollParams([]config.Page{pg})
	pp.Graph = graph.New(graph.Config{BaseURL: f.url, Timeout: 5 * time.Second})
	// The fixture's comments are a minute old: their post is read again
	// until a poll reads it a minute after them.
	pp.UnchangedAfter = 2 * time.Second
	rep, err := worker.NewPoller(pp).Poll(context.Background(), pg.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}
