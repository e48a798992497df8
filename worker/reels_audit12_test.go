package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
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
	const old = 20
	addOldComments(h, lf.onlyPost, 6600000, old)
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
	const old = 20
	addOldComments(h, lf.onlyPost, 6700000, old)
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

// TestReelSkippedAtItsTurnReadByNextPoll_audit12: on a Page with more Reels
// inside scan_posts than a poll reads, an older Reel whose comments Graph
// failed on at its turn (skipped, as such a post is) is read by the next
// poll, as docs/BEHAVIOUR.md says a skipped Reel is, not only at its next turn
// (ceil((Reels - 25) / 25) polls later: a comment on it waited twice that,
// and one inside a short reply window was missed). Skipped again there, it
// waits for its turn. The others keep their turns; nothing is answered twice.
func TestReelSkippedAtItsTurnReadByNextPoll_audit12(t *testing.T) {
	lf := newReelsFixture(t, 12103, true)
	h, ctx := lf.h, context.Background()
	lf.page.ScanPosts = 24 * time.Hour
	const more = 59 // besides the fixture's Reel, the newest: 35 older ones, read in 2 turns
	var reels []string
	all := append(append([]tasks.Reply{}, lf.feed...), lf.only...)
	for i := range more {
		id := h.sb.AddReel(lf.page.ID, "Reel", time.Now().Add(-4*time.Hour-time.Duration(i)*time.Minute))
		reels = append(reels, id)
		all = append(all, lf.comment(id, 1)...)
	}
	// The 21st of the older ones: read in the first poll's turn, not in
	// the second's (the older ones from the 26th on, then the first 15).
	skipped := reels[worker.ReelsNewest-1+20]
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !failing.Load() || !strings.HasSuffix(r.URL.Path, "/"+skipped+"/comments") {
			h.sb.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"AbCdEf"}}`))
	}))
	t.Cleanup(srv.Close)
	p := h.pollParams([]config.Page{lf.page})
	p.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
	pl := worker.NewPoller(p)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	queued := func(id string) bool {
		_, err := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+id)
		return err == nil
	}
	var skippedComment string
	for _, r := range all {
		if strings.HasPrefix(r.Target.ID, skipped+"_") {
			skippedComment = r.Target.ID
		}
	}

	failing.Store(true)
	rep, err := pl.Poll(ctx, lf.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unreadable != 1 || rep.Reels != worker.MaxReels || queued(skippedComment) {
		t.Fatalf("first poll: %d unreadable, %d Reels, skipped Reel's comment queued %t; want 1, %d, false", rep.Unreadable, rep.Reels, queued(skippedComment), worker.MaxReels)
	}
	failing.Store(false)
	rep, err = pl.Poll(ctx, lf.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unreadable != 0 || rep.Reels != worker.MaxReels {
		t.Errorf("second poll: %d unreadable, %d Reels; want 0, %d", rep.Unreadable, rep.Reels, worker.MaxReels)
	}
	if !queued(skippedComment) {
		t.Errorf("the comment %s of the Reel skipped at its turn was not queued by the next poll", skippedComment)
	}
	// A third poll completes the others' turns: every Reel's comment queued.
	if _, err := pl.Poll(ctx, lf.page.ID, false); err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if !queued(r.Target.ID) {
			t.Errorf("comment %s not queued after three polls", r.Target.ID)
		}
	}
	h.startWorker(t, 4)
	h.waitSent(t, all, 30*time.Second)
	h.checkExactlyOnce(t, all)
}
