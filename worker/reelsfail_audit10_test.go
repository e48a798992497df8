package worker_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// reelsFault answers the sandbox's video_reels listing as Graph failing:
// while mode is set, every GET /{page-id}/video_reels gets a 500 with
// Graph's transient code 2 ("500"), or a 200 whose body is cut ("cut"); every
// other call goes to the sandbox. Its calls counts the listings it failed.
type reelsFault struct {
	mode  atomic.Value // string
	calls atomic.Int32
	srv   *httptest.Server
}

func newReelsFault(t *testing.T, h *harness) *reelsFault {
	t.Helper()
	f := &reelsFault{}
	f.mode.Store("")
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mode, _ := f.mode.Load().(string)
		if mode == "" || !strings.HasSuffix(r.URL.Path, "/video_reels") {
			h.sb.ServeHTTP(w, r)
			return
		}
		f.calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if mode == "cut" {
			_, _ = w.Write([]byte(`{"data":[{"id":"1","created_time":"2026-`))
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"AbCdEf"}}`))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// poller is the fixture's Page polled through the fault's server.
func (f *reelsFault) poller(lf *listingFixture, log *slog.Logger, m *metrics.Metrics) *worker.Poller {
	p := lf.h.pollParams([]config.Page{lf.page})
	p.Graph = graph.New(graph.Config{BaseURL: f.srv.URL, Timeout: 5 * time.Second})
	if log != nil {
		p.Logger = log
	}
	p.Metrics = m
	return worker.NewPoller(p)
}

// TestReelsListingFailureKeepsFeed_audit10: Graph failing on video_reels
// (a 500 with its transient code, or an answer cut short), after the
// listing's reads again, does not fail the poll: the feed's comments are
// queued and the feed's state saved (the next poll takes the unchanged post
// for unchanged), the report and the poll's result say the Reels were not
// read and why, pagereply_skipped_total{reason="reels_failed"} counts each
// such poll, a WARN says it once across polls, the Page is not paused; the
// first poll that lists the Reels again answers their comments, each once.
func TestReelsListingFailureKeepsFeed_audit10(t *testing.T) {
	for i, mode := range []string{"500", "cut"} {
		t.Run(mode, func(t *testing.T) {
			lf := newReelsFixture(t, 10100+int64(i), true)
			h, ctx := lf.h, context.Background()
			fault := newReelsFault(t, h)
			fault.mode.Store(mode)
			var logs proctest.Buffer
			m := metrics.New()
			pl := fault.poller(lf, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), m)

			for n := range 2 {
				rep, err := pl.Poll(ctx, lf.page.ID, false)
				if err != nil {
					t.Fatalf("poll %d with video_reels failing: %v", n, err)
				}
				if !strings.Contains(rep.ReelsNotRead, "failed") || rep.Reels != 0 || rep.Paused != "" {
					t.Errorf("poll %d: reels %d, not read %q, paused %q; want 0, why, none", n, rep.Reels, rep.ReelsNotRead, rep.Paused)
				}
				want, wantReads := len(lf.feed), 1
				if n > 0 {
					// The feed's state was saved: its post, unchanged, is
					// not read again.
					want, wantReads = 0, 0
				}
				if rep.Enqueued() != want || rep.CommentReads != wantReads {
					t.Errorf("poll %d: %d queued, %d comment reads; want %d, %d", n, rep.Enqueued(), rep.CommentReads, want, wantReads)
				}
			}
			if fault.calls.Load() < 2 {
				t.Fatalf("video_reels failed %d times, want a failure at each poll", fault.calls.Load())
			}
			if d, reason, err := h.ledger.Paused(ctx, lf.page.ID); err != nil || d > 0 {
				t.Errorf("page paused (%s, %s, %v) after video_reels failed", d, reason, err)
			}
			var d dto.Metric
			if err := m.PollSkipped.WithLabelValues(lf.page.ID, worker.SkipReelsFailed).Write(&d); err != nil || d.GetCounter().GetValue() != 2 {
				t.Errorf("pagereply_skipped_total{reason=reels_failed} = %v (%v), want 2", d.GetCounter().GetValue(), err)
			}
			warns := 0
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "reels not read") {
					warns++
				}
			}
			if warns != 1 {
				t.Errorf("%d WARN lines over 2 failed polls, want 1:\n%s", warns, logs.String())
			}
			if strings.Contains(logs.String(), lf.page.AccessToken) {
				t.Error("a log line holds the Page's token")
			}

			fault.mode.Store("")
			rep, err := pl.Poll(ctx, lf.page.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Reels != 1 || rep.ReelsNotRead != "" || rep.Enqueued() != len(lf.only) {
				t.Errorf("listed again: %d reels, not read %q, %d queued; want 1, \"\", %d", rep.Reels, rep.ReelsNotRead, rep.Enqueued(), len(lf.only))
			}
			h.startWorker(t, 4)
			all := append(append([]tasks.Reply{}, lf.feed...), lf.only...)
			h.waitSent(t, all, 20*time.Second)
			h.checkExactlyOnce(t, all)
		})
	}
}

// TestReelsFailedInFullReadReadLater_audit10: a full read (here: the reply
// settings changed) whose Reels Graph failed on records the full read done
// for the feed, and the next poll, no full read, reads the Reel as the full
// read would have: a comment older than the Reel's last read, which the new
// settings answer, is queued. Without that the Reel was read from its last
// comment seen on, and the comment waited for the next full read.
func TestReelsFailedInFullReadReadLater_audit10(t *testing.T) {
	lf := newReelsFixture(t, 10110, true)
	h, ctx := lf.h, context.Background()
	lf.page.DefaultText = "" // the fixture's "hello" comments match no rule
	old := lf.h.sb.AddComment(lf.onlyPost, sandbox.User{ID: "6400001", Name: "Old Visitor"}, "hello from long ago", time.Now().Add(-40*time.Minute))
	fault := newReelsFault(t, h)

	rep, err := fault.poller(lf, nil, nil).Poll(ctx, lf.page.ID, false)
	if err != nil || rep.Reels != 1 || rep.Enqueued() != 0 {
		t.Fatalf("first poll: %d reels, %d queued, %v; want 1, 0", rep.Reels, rep.Enqueued(), err)
	}
	// Newer than the old comment by more than the overlap: the Reel's next
	// read, from its state, stops before the old one.
	lf.comment(lf.onlyPost, 1)

	lf.page.DefaultText = "Thanks!"
	pl := fault.poller(lf, nil, nil)
	fault.mode.Store("500")
	rep, err = pl.Poll(ctx, lf.page.ID, false)
	if err != nil {
		t.Fatalf("full read with video_reels failing: %v", err)
	}
	if rep.FullRead == "" || rep.ReelsNotRead == "" {
		t.Fatalf("poll: full read %q, reels not read %q; want a full read whose Reels failed", rep.FullRead, rep.ReelsNotRead)
	}
	fault.mode.Store("")
	rep, err = pl.Poll(ctx, lf.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FullRead != "" {
		t.Fatalf("the poll after is a full read too (%s): the full read was not recorded for the feed", rep.FullRead)
	}
	queued := map[string]bool{}
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	for _, id := range []string{old} {
		if _, err := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+id); err == nil {
			queued[id] = true
		}
	}
	if !queued[old] {
		t.Errorf("the Reel's old comment %s, answered by the new settings, was not queued after the full read's Reels failed (report: %d reels, %d queued)", old, rep.Reels, rep.Enqueued())
	}
}

// TestReelsFailedInPollResult_audit10: a poll task whose Page's Reels Graph
// failed on completes, and its result, which the monitor shows, gives the
// feed's counts and says the Reels were not read and why.
func TestReelsFailedInPollResult_audit10(t *testing.T) {
	lf := newReelsFixture(t, 10120, true)
	fault := newReelsFault(t, lf.h)
	e := reelsRefusal(lf)
	e.poller = func(log *slog.Logger, m *metrics.Metrics) *worker.Poller { return fault.poller(lf, log, m) }
	fault.mode.Store("500")
	checkEdgeRefusedInPollResult(t, e, "poll:reels:failed:1", "reading the Page's Reels failed")
}

// TestReelsTakeTurns_audit10: a Page with more Reels inside scan_posts than
// a poll reads (worker.MaxReels) has every one's comments answered within a
// few polls: each poll reads the worker.ReelsNewest newest and the others in
// turn, one comments read per Reel, a Reel created before scan_posts never;
// nothing is answered twice.
func TestReelsTakeTurns_audit10(t *testing.T) {
	lf := newReelsFixture(t, 10130, true)
	h, ctx := lf.h, context.Background()
	lf.page.ScanPosts = 24 * time.Hour
	const more = 69 // besides the fixture's Reel, the newest
	all := append(append([]tasks.Reply{}, lf.feed...), lf.only...)
	for i := range more {
		id := h.sb.AddReel(lf.page.ID, "Reel", time.Now().Add(-4*time.Hour-time.Duration(i)*time.Minute))
		all = append(all, lf.comment(id, 1)...)
	}
	old := h.sb.AddReel(lf.page.ID, "Before scan_posts", time.Now().Add(-48*time.Hour))
	never := lf.comment(old, 1)
	pl := lf.poller(nil, nil)

	queued := 0
	for n := range 2 {
		before := h.sb.Calls()[sandbox.EndpointComments]
		rep, err := pl.Poll(ctx, lf.page.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Reels != worker.MaxReels || rep.ReelsInScan != more+1 || rep.ReelsOverCap || rep.ReelsNotRead != "" {
			t.Errorf("poll %d: %d reels read of %d inside scan_posts, over cap %t, not read %q; want %d of %d", n, rep.Reels, rep.ReelsInScan, rep.ReelsOverCap, rep.ReelsNotRead, worker.MaxReels, more+1)
		}
		reads := h.sb.Calls()[sandbox.EndpointComments] - before
		if want := worker.MaxReels + 1 - n; reads != want { // the feed post's at the first poll only (unchanged after)
			t.Errorf("poll %d: %d comments reads, want %d", n, reads, want)
		}
		queued += rep.Enqueued()
	}
	if queued != len(all) {
		t.Errorf("two polls queued %d replies, want %d: every Reel inside scan_posts read", queued, len(all))
	}
	h.startWorker(t, 4)
	h.waitSent(t, all, 30*time.Second)
	for range 2 {
		if _, err := pl.Poll(ctx, lf.page.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	h.checkExactlyOnce(t, all)
	if n := h.sb.SendCount(never[0].Target.ID); n != 0 {
		t.Errorf("the comment of a Reel created before scan_posts was sent %d times", n)
	}
}

// TestReelsListingBound_audit10: the video_reels listing is read for at most
// worker.MaxReelListPages pages a poll, and a poll stopped there with Reels
// inside scan_posts still coming says so (ReelsOverCap).
func TestReelsListingBound_audit10(t *testing.T) {
	lf := newReelsFixture(t, 10140, true)
	h, ctx := lf.h, context.Background()
	at := time.Now().Add(-4 * time.Hour)
	for i := range worker.MaxReelListPages*100 + 10 {
		h.sb.AddReel(lf.page.ID, "Reel", at.Add(-time.Duration(i)*time.Second))
	}
	rep, err := lf.poller(nil, nil).Poll(ctx, lf.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if n := h.sb.Calls()[sandbox.EndpointReels]; n != worker.MaxReelListPages {
		t.Errorf("%d video_reels reads, want %d", n, worker.MaxReelListPages)
	}
	if !rep.ReelsOverCap || rep.ReelsInScan != worker.MaxReelListPages*100 || rep.Reels != worker.MaxReels {
		t.Errorf("report: over cap %t, %d inside scan_posts, %d read; want true, %d, %d", rep.ReelsOverCap, rep.ReelsInScan, rep.Reels, worker.MaxReelListPages*100, worker.MaxReels)
	}
}

// TestReelPostIDSameFromPollAndWebhook_audit10: a Reel's comment gives a
// reply text the same {{.PostID}}, "<page-id>_<video-id>", whether the poll
// found it (video_reels lists the Reel by its video id, as Meta's and the
// sandbox's do) or the webhook delivered it (Meta's post_id,
// "<page-id>_<post-id>"); the poll
// finding the delivered comment again queues nothing more, and each comment
// gets one reply.
func TestReelPostIDSameFromPollAndWebhook_audit10(t *testing.T) {
	lf := newReelsFixture(t, 10150, true)
	h, ctx := lf.h, context.Background()
	lf.page.DefaultText = "About {{.PostID}}"
	pl := worker.NewPoller(h.pollParams([]config.Page{lf.page}))
	post := lf.page.ID + "_" + lf.onlyPost // the Reel's id is its bare video id
	want := "About " + post

	// The first of the Reel's comments comes through the webhook first.
	hooked := lf.only[0].Target.ID
	if _, err := h.enq.EnqueueWebhookItem(ctx, tasks.WebhookItem{PageID: lf.page.ID, Kind: tasks.KindComment, ID: hooked, PostID: post}); err != nil {
		t.Fatal(err)
	}
	h.startPollingWorker(t, []config.Page{lf.page}, pl)
	// The text sent (a queued reply keeps the text rendered when it was
	// queued).
	text := func(comment string) string {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			for _, s := range h.sb.Sends() {
				if s.Target == comment {
					return s.Text
				}
			}
		}
		t.Fatalf("no reply sent to comment %s", comment)
		return ""
	}
	if got := text(hooked); got != want {
		t.Errorf("webhook's reply text %q, want %q", got, want)
	}
	rep, err := pl.Poll(ctx, lf.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reels != 1 || rep.Enqueued() != len(lf.feed)+len(lf.only)-1 {
		t.Errorf("poll: %d reels, %d queued; want 1, %d (the delivered comment queued once)", rep.Reels, rep.Enqueued(), len(lf.feed)+len(lf.only)-1)
	}
	for _, r := range lf.only[1:] {
		if got := text(r.Target.ID); got != want {
			t.Errorf("poll's reply text for %s %q, want the webhook's %q", r.Target.ID, got, want)
		}
	}
	// The feed's comments the poll queued are sent meanwhile: waited for,
	// not counted while on their way (CI found one not yet sent).
	all := append(append([]tasks.Reply{}, lf.feed...), lf.only...)
	h.waitSent(t, all, 30*time.Second)
	h.checkExactlyOnce(t, all)
}

// TestReelsFailedKeepState_audit10: a poll whose Reels Graph failed on
// keeps what the last poll read of them: the next poll reads a Reel from
// its newest comment seen (less the overlap) on, not back to the reply
// window, so an old comment already answered is not read again; a Reel's
// comment added meanwhile is answered, each comment once.
func TestReelsFailedKeepState_audit10(t *testing.T) {
	lf := newReelsFixture(t, 10160, true)
	h, ctx := lf.h, context.Background()
	oldID := h.sb.AddComment(lf.onlyPost, sandbox.User{ID: "6400002", Name: "Old Visitor"}, "hello", time.Now().Add(-40*time.Minute))
	all := append(append([]tasks.Reply{}, lf.feed...), lf.only...)
	all = append(all, tasks.Reply{PageID: lf.page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: oldID}, Text: "Thanks!", Source: tasks.SourcePoll})
	fault := newReelsFault(t, h)
	p := lf.h.pollParams([]config.Page{lf.page})
	p.Graph = graph.New(graph.Config{BaseURL: fault.srv.URL, Timeout: 5 * time.Second})
	// The first poll's full read is recorded as begun before the Reel was
	// read (a Reel read in the second the last full read began is read in
	// full once more: Unix seconds cannot tell it from one read before).
	p.Now = func() time.Time { return time.Now().Add(-2 * time.Second) }
	pl := worker.NewPoller(p)
	if rep, err := pl.Poll(ctx, lf.page.ID, false); err != nil || rep.Enqueued() != len(all) {
		t.Fatalf("first poll: %d queued, %v; want %d", rep.Enqueued(), err, len(all))
	}
	fault.mode.Store("500")
	if rep, err := pl.Poll(ctx, lf.page.ID, false); err != nil || rep.ReelsNotRead == "" {
		t.Fatalf("poll with video_reels failing: not read %q, %v", rep.ReelsNotRead, err)
	}
	later := lf.comment(lf.onlyPost, 1)
	fault.mode.Store("")
	rep, err := pl.Poll(ctx, lf.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	// The Reel's comments of the last minutes (inside the overlap) and the
	// new one; not the old one: the Reel's state was kept.
	if want := len(lf.only) + 1; rep.Reels != 1 || rep.Seen != want || rep.Enqueued() != 1 {
		t.Errorf("poll after: %d reels, %d comments seen, %d queued; want 1, %d, 1", rep.Reels, rep.Seen, rep.Enqueued(), want)
	}
	all = append(all, later...)
	h.startWorker(t, 4)
	h.waitSent(t, all, 20*time.Second)
	h.checkExactlyOnce(t, all)
}
