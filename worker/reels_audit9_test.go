package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// reelsFixture is a listingFixture whose other post is a Reel (listed by
// video_reels, not by the feed; a comment does not move its updated_time),
// with pages[].reels as given.
type reelsFixture = listingFixture

func newReelsFixture(t *testing.T, seed int64, reels bool) *reelsFixture {
	t.Helper()
	return newListingFixture(t, seed, 6300000, func(p *config.Page) { p.Reels = reels },
		func(h *harness, page string) string {
			return h.sb.AddReel(page, "A Reel", time.Now().Add(-3*time.Hour))
		})
}

// TestReelCommentAnsweredWithReels: the comments of a Reel reach the poll
// through video_reels with pages[].reels on (a dry run lists them too), once
// each, and a comment added later is read by the next poll though the
// Reel's updated_time did not move; with the key off (the default) the poll
// makes no video_reels call and the Reel's comments get no reply.
func TestReelCommentAnsweredWithReels(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run("reels="+strconv.FormatBool(on), func(t *testing.T) {
			f := newReelsFixture(t, 9101, on)
			h, ctx := f.h, context.Background()
			pl := f.poller(nil, nil)

			dry, err := pl.Poll(ctx, f.page.ID, true)
			if err != nil {
				t.Fatal(err)
			}
			listed := map[string]bool{}
			for _, r := range dry.Replies {
				listed[r.Target.ID] = true
			}
			for _, r := range f.only {
				if listed[r.Target.ID] != on {
					t.Errorf("dry run lists the Reel's comment %s: %t, want %t", r.Target.ID, listed[r.Target.ID], on)
				}
			}

			rep, err := pl.Poll(ctx, f.page.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			wantReels := 0
			if on {
				wantReels = 1
			}
			if rep.Reels != wantReels || rep.ReelsNotRead != "" || rep.ReelsOverCap || rep.Posts != 1 {
				t.Errorf("report: %d posts, %d reels, not read %q, over cap %t; want 1, %d, \"\", false", rep.Posts, rep.Reels, rep.ReelsNotRead, rep.ReelsOverCap, wantReels)
			}
			if n := h.sb.Calls()[sandbox.EndpointReels]; (n > 0) != on {
				t.Errorf("%d video_reels calls with reels %t", n, on)
			}
			h.startWorker(t, 4)
			if !on {
				h.waitSent(t, f.feed, 20*time.Second)
				h.checkExactlyOnce(t, f.feed)
				for _, r := range f.only {
					if n := h.sb.SendCount(r.Target.ID); n != 0 {
						t.Errorf("the Reel's comment %s got %d sends with reels off", r.Target.ID, n)
					}
				}
				return
			}
			all := append(append([]tasks.Reply{}, f.feed...), f.only...)
			h.waitSent(t, all, 20*time.Second)

			// A new comment leaves the Reel's updated_time as it was: the
			// next poll reads its comments all the same.
			before := h.sb.Reels(f.page.ID)[0].UpdatedTime
			later := f.comment(f.onlyPost, 1)
			if after := h.sb.Reels(f.page.ID)[0].UpdatedTime; !after.Equal(before) {
				t.Fatalf("the sandbox moved the Reel's updated_time on a comment: %s, was %s", after, before)
			}
			rep, err = pl.Poll(ctx, f.page.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Reels != 1 || rep.Enqueued() != 1 {
				t.Errorf("poll after a new Reel comment: %d reels, %d queued; want 1, 1", rep.Reels, rep.Enqueued())
			}
			all = append(all, later...)
			h.waitSent(t, all, 20*time.Second)
			// Polls again: nothing new, nothing twice.
			for range 2 {
				if _, err := pl.Poll(ctx, f.page.ID, false); err != nil {
					t.Fatal(err)
				}
			}
			h.checkExactlyOnce(t, all)
			if got := len(h.sb.Sends()); got != len(all) {
				t.Errorf("%d sends, want %d", got, len(all))
			}
		})
	}
}

// TestReelCommentPolledAndWebhookOnce: a comment on a Reel that the poll
// reads and the webhook delivers too, before and after its send, gets one
// reply: the poll queues it under the webhook's TaskID, comment:<id>.
func TestReelCommentPolledAndWebhookOnce(t *testing.T) {
	f := newReelsFixture(t, 9102, true)
	h, ctx := f.h, context.Background()
	pl := f.poller(nil, nil)
	deliver := func() {
		for _, r := range f.only {
			it := tasks.WebhookItem{PageID: f.page.ID, Kind: tasks.KindComment, ID: r.Target.ID, PostID: f.onlyPost}
			if _, err := h.enq.EnqueueWebhookItem(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
	}
	deliver()
	rep, err := pl.Poll(ctx, f.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append([]tasks.Reply{}, f.feed...), f.only...)
	if rep.Reels != 1 || rep.Enqueued() != len(all) {
		t.Errorf("report: %d reels, %d queued; want 1, %d (the poll queues them first)", rep.Reels, rep.Enqueued(), len(all))
	}
	h.startPollingWorker(t, []config.Page{f.page}, pl)
	h.waitSent(t, all, 20*time.Second)
	deliver()
	for range 2 {
		if _, err := pl.Poll(ctx, f.page.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // the second delivery's items handled
	h.checkExactlyOnce(t, all)
	if got := len(h.sb.Sends()); got != len(all) {
		t.Errorf("%d sends, want %d", got, len(all))
	}
}

// TestReelsRefusedKeepsFeed: Graph refusing video_reels (code 100,
// "Unsupported get request", as the edge's reference says reading is
// refused; or code 200 or 10, a permission) neither pauses the Page nor
// fails its poll: the feed's comments are answered, the report and the poll
// task's result say the Reels were not read and why,
// pagereply_skipped_total counts each such poll (reason reels_refused), and
// the WARN comes once across polls until a poll reads them.
func TestReelsRefusedKeepsFeed(t *testing.T) {
	for _, code := range []int{sandbox.CodeInvalidParam, sandbox.CodeAdsPermission, sandbox.CodePermission} {
		t.Run("code "+strconv.Itoa(code), func(t *testing.T) {
			checkEdgeRefusedKeepsFeed(t, reelsRefusal(newReelsFixture(t, 9103+int64(code), true)), code)
		})
	}
}

// TestReelsRefusedInPollResult: a poll task whose Page's Reels Graph
// refused completes, and its result, which the monitor shows, says that the
// Reels were not read and why.
func TestReelsRefusedInPollResult(t *testing.T) {
	e := reelsRefusal(newReelsFixture(t, 9110, true))
	e.deny(sandbox.CodeInvalidParam)
	checkEdgeRefusedInPollResult(t, e, "poll:reels:1", "Unsupported get request")
}

// reelsRefusal is the fixture's Reels for the edgeRefusal checks.
func reelsRefusal(f *reelsFixture) edgeRefusal {
	return edgeRefusal{
		h: f.h, page: f.page, feed: f.feed, only: f.only, poller: f.poller,
		deny: func(code int) { f.h.sb.DenyReels(f.page.ID, code) },
		edge: "video_reels", warn: "reels not read", reason: worker.SkipReelsRefused,
		notRead: func(r worker.PollReport) string { return r.ReelsNotRead },
		read:    func(r worker.PollReport) int { return r.Reels },
	}
}

// TestReelsCap: a poll reads the comments of worker.MaxReels Reels created
// inside scan_posts, one comments read each, and says how many there were;
// the others' comments (read in turn by the next polls, see
// TestReelsTakeTurns_audit10), and those of a Reel created before
// scan_posts, are not read by this poll.
func TestReelsCap(t *testing.T) {
	f := newReelsFixture(t, 9120, true)
	h, ctx := f.h, context.Background()
	f.page.ScanPosts = 24 * time.Hour
	// The fixture's Reel is the newest; MaxReels+4 more, each a minute
	// older than the last, all inside scan_posts: the last 5 past the cap.
	var inCap, overCap []tasks.Reply
	inCap = append(inCap, f.only...)
	for i := range worker.MaxReels + 4 {
		id := h.sb.AddReel(f.page.ID, "Reel "+strconv.Itoa(i), time.Now().Add(-4*time.Hour-time.Duration(i)*time.Minute))
		if i < worker.MaxReels-1 {
			inCap = append(inCap, f.comment(id, 1)...)
		} else {
			overCap = append(overCap, f.comment(id, 1)...)
		}
	}
	old := h.sb.AddReel(f.page.ID, "Before scan_posts", time.Now().Add(-48*time.Hour))
	overCap = append(overCap, f.comment(old, 1)...)

	rep, err := f.poller(nil, nil).Poll(ctx, f.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Reels != worker.MaxReels || rep.ReelsInScan != worker.MaxReels+5 || rep.ReelsOverCap {
		t.Errorf("report: %d reels of %d inside scan_posts, over cap %t; want %d of %d, false", rep.Reels, rep.ReelsInScan, rep.ReelsOverCap, worker.MaxReels, worker.MaxReels+5)
	}
	if n := h.sb.Calls()[sandbox.EndpointComments]; n != worker.MaxReels+1 {
		t.Errorf("%d comments reads, want %d: the feed post's and one per Reel inside the cap", n, worker.MaxReels+1)
	}
	if want := len(f.feed) + len(inCap); rep.Enqueued() != want {
		t.Errorf("%d replies queued, want %d", rep.Enqueued(), want)
	}
	h.startWorker(t, 4)
	h.waitSent(t, append(append([]tasks.Reply{}, f.feed...), inCap...), 20*time.Second)
	for _, r := range overCap {
		if n := h.sb.SendCount(r.Target.ID); n != 0 {
			t.Errorf("comment %s of a Reel past the cap or scan_posts sent %d times", r.Target.ID, n)
		}
	}
}
