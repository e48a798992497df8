package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// TestReelReadByFullReadNotReadInFullAgain_audit12: a Reel read by a full
// read (a Page's first poll, or one whose reply settings changed) is read by
// the next poll from its newest comment seen (less the overlap), not back to
// the reply window once more. A Reel read in the second the full read began
// (Unix seconds: most Reels of a Page whose poll takes under a second) was
// taken by the next poll for one read before that full read ("polled <=
// the full read's start") and read in full again: every full read cost each
// Reel's whole window twice. The poll's clock here runs 3 s ahead of the
// wall clock its reads are stamped with, so that every read of a poll falls
// in (or before) the second its full read is recorded to begin.
func TestReelReadByFullReadNotReadInFullAgain_audit12(t *testing.T) {
	lf := newReelsFixture(t, 12101, true)
	h, ctx := lf.h, context.Background()
	const old = 20 // comments older than the overlap, inside the reply window
	for i := range old {
		h.sb.AddComment(lf.onlyPost, sandbox.User{ID: strconv.Itoa(6600000 + i), Name: "Old Visitor"}, "hello",
			time.Now().Add(-90*time.Minute+time.Duration(i)*time.Minute))
	}
	ahead := func() time.Time { return time.Now().Add(3 * time.Second) }
	poll := func(page config.Page) worker.PollReport {
		t.Helper()
		p := h.pollParams([]config.Page{page})
		p.Now = ahead
		rep, err := worker.NewPoller(p).Poll(ctx, page.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Reels != 1 {
			t.Fatalf("%d Reels read, want 1", rep.Reels)
		}
		return rep
	}
	changed := lf.page
	changed.MaxAge = 20 * time.Hour
	for _, full := range []struct {
		name string
		page config.Page
	}{{"first poll", lf.page}, {"reply settings changed", changed}} {
		rep := poll(full.page)
		if rep.Seen < old {
			t.Fatalf("%s: %d comments seen, want the Reel read back to the reply window (%d or more)", full.name, rep.Seen, old)
		}
		rep = poll(full.page)
		if rep.FullRead != "" {
			t.Fatalf("poll after the %s: a full read (%s)", full.name, rep.FullRead)
		}
		if rep.Seen >= old {
			t.Errorf("poll after the %s: %d comments seen, want the Reel's newest only (less than %d): it was read back to the reply window again", full.name, rep.Seen, old)
		}
	}
}

// TestReelsFailedInFullReadSameSecondReadInFull_audit12: two full reads
// that begin in the same second (the poll's clock frozen here) are told
// apart: the Reel the first one read, which the second did not (its
// video_reels failing), is read back to the reply window by the next poll,
// as the second full read would have read it.
func TestReelsFailedInFullReadSameSecondReadInFull_audit12(t *testing.T) {
	lf := newReelsFixture(t, 12102, true)
	h, ctx := lf.h, context.Background()
	const old = 20 // comments older than the overlap, inside the reply window
	for i := range old {
		h.sb.AddComment(lf.onlyPost, sandbox.User{ID: strconv.Itoa(6700000 + i), Name: "Old Visitor"}, "hello",
			time.Now().Add(-90*time.Minute+time.Duration(i)*time.Minute))
	}
	fault := newReelsFault(t, h)
	frozen := time.Now().Add(3 * time.Second)
	poll := func(page config.Page) worker.PollReport {
		t.Helper()
		p := h.pollParams([]config.Page{page})
		p.Graph = graph.New(graph.Config{BaseURL: fault.srv.URL, Timeout: 5 * time.Second})
		p.Now = func() time.Time { return frozen }
		rep, err := worker.NewPoller(p).Poll(ctx, page.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	first := lf.page
	if rep := poll(first); rep.Reels != 1 || rep.Seen < old {
		t.Fatalf("first poll: %d Reels, %d comments seen; want 1, %d or more", rep.Reels, rep.Seen, old)
	}
	changed := first
	changed.MaxAge = 20 * time.Hour
	fault.mode.Store("500")
	if rep := poll(changed); rep.FullRead == "" || rep.ReelsNotRead == "" {
		t.Fatalf("second poll: full read %q, Reels not read %q; want a full read whose Reels failed", rep.FullRead, rep.ReelsNotRead)
	}
	fault.mode.Store("")
	rep := poll(changed)
	if rep.FullRead != "" || rep.Reels != 1 {
		t.Fatalf("third poll: full read %q, %d Reels; want none, 1", rep.FullRead, rep.Reels)
	}
	if rep.Seen < old {
		t.Errorf("third poll: %d comments seen, want the Reel read back to the reply window (%d or more): the full read that failed on it was taken for one before its last read", rep.Seen, old)
	}
}
