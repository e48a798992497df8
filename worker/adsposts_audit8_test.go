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

// adsFixture is a listingFixture whose other post exists only as an ad
// (listed by ads_posts, not by the feed), with pages[].ads_posts as given.
type adsFixture = listingFixture

func newAdsFixture(t *testing.T, seed int64, adsPosts bool) *adsFixture {
	t.Helper()
	return newListingFixture(t, seed, 6100000, func(p *config.Page) { p.AdsPosts = adsPosts },
		func(h *harness, page string) string {
			return h.sb.AddAdsPost(page, "Only in an ad", time.Now().Add(-3*time.Hour))
		})
}

// TestAdsOnlyPostAnsweredWithAdsPosts: the comments of a post that exists
// only as an ad reach the poll through ads_posts: answered, once each, with
// pages[].ads_posts on (a dry run lists them too), and not read at all with
// it off (the default), when only the webhook brings them.
func TestAdsOnlyPostAnsweredWithAdsPosts(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run("ads_posts="+strconv.FormatBool(on), func(t *testing.T) {
			f := newAdsFixture(t, 8801, on)
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
					t.Errorf("dry run lists ads-only post's comment %s: %t, want %t", r.Target.ID, listed[r.Target.ID], on)
				}
			}

			rep, err := pl.Poll(ctx, f.page.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			wantAds := 0
			if on {
				wantAds = 1
			}
			if rep.AdsPosts != wantAds || rep.AdsPostsNotRead != "" {
				t.Errorf("report: %d ads posts, not read %q; want %d, \"\"", rep.AdsPosts, rep.AdsPostsNotRead, wantAds)
			}
			if n := h.sb.Calls()[sandbox.EndpointAdsPosts]; (n > 0) != on {
				t.Errorf("%d ads_posts calls with ads_posts %t", n, on)
			}
			h.startWorker(t, 4)
			if !on {
				h.waitSent(t, f.feed, 20*time.Second)
				h.checkExactlyOnce(t, f.feed)
				for _, r := range f.only {
					if n := h.sb.SendCount(r.Target.ID); n != 0 {
						t.Errorf("ads-only post's comment %s got %d sends with ads_posts off", r.Target.ID, n)
					}
				}
				return
			}
			all := append(append([]tasks.Reply{}, f.feed...), f.only...)
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

// TestPostInFeedAndAdsPostsReadOnce: a published post boosted as an ad is
// listed by the feed and by ads_posts: the poll looks at it once (one
// comments read), and each of its comments gets one reply, also when the
// webhook delivers the same comments (the same reply TaskIDs).
func TestPostInFeedAndAdsPostsReadOnce(t *testing.T) {
	f := newAdsFixture(t, 8802, true)
	h, ctx := f.h, context.Background()
	if !h.sb.PromotePost(f.feedPost) {
		t.Fatal("PromotePost: unknown post")
	}
	if n := len(h.sb.AdsPosts(f.page.ID)); n != 2 {
		t.Fatalf("ads_posts lists %d posts, want 2", n)
	}
	pl := f.poller(nil, nil)
	rep, err := pl.Poll(ctx, f.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Posts != 2 || rep.CommentReads != 2 || rep.AdsPosts != 1 {
		t.Errorf("report: %d posts, %d comment reads, %d ads posts; want 2, 2, 1 (the boosted post once)", rep.Posts, rep.CommentReads, rep.AdsPosts)
	}
	if n := h.sb.Calls()[sandbox.EndpointComments]; n != 2 {
		t.Errorf("%d comments reads, want 2: one per post", n)
	}
	all := append(append([]tasks.Reply{}, f.feed...), f.only...)
	if rep.Enqueued() != len(all) {
		t.Errorf("%d replies queued, want %d", rep.Enqueued(), len(all))
	}
	// The webhook delivers the boosted post's and the ads-only post's
	// comments too, before and after the worker sends.
	deliver := func() {
		for _, r := range all {
			it := tasks.WebhookItem{PageID: f.page.ID, Kind: tasks.KindComment, ID: r.Target.ID}
			if _, err := h.enq.EnqueueWebhookItem(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
	}
	deliver()
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

// TestAdsPostsRefusedKeepsFeed: a token without the ads permissions (Graph
// answers ads_posts with code 200 or 10 and a permission message) neither
// pauses the Page nor fails its poll: the feed's comments are answered, the
// report says the ads posts were not read and why, pagereply_skipped_total
// counts each such poll (reason ads_posts_refused), and the WARN comes once
// across polls, until a poll reads them; refused again, it is said again.
func TestAdsPostsRefusedKeepsFeed(t *testing.T) {
	for _, code := range []int{sandbox.CodeAdsPermission, sandbox.CodePermission} {
		t.Run("code "+strconv.Itoa(code), func(t *testing.T) {
			checkEdgeRefusedKeepsFeed(t, adsRefusal(newAdsFixture(t, 8803+int64(code), true)), code)
		})
	}
}

// TestAdsPostsRefusedInPollResult: a poll task whose Page's ads posts Graph
// refused completes, and its result, which the monitor shows, says that the
// ads posts were not read and why.
func TestAdsPostsRefusedInPollResult(t *testing.T) {
	e := adsRefusal(newAdsFixture(t, 8810, true))
	e.deny(sandbox.CodeAdsPermission)
	checkEdgeRefusedInPollResult(t, e, "poll:ads:1", "code 200")
}

// adsRefusal is the fixture's ads posts for the edgeRefusal checks.
func adsRefusal(f *adsFixture) edgeRefusal {
	return edgeRefusal{
		h: f.h, page: f.page, feed: f.feed, only: f.only, poller: f.poller,
		deny: func(code int) { f.h.sb.DenyAdsPosts(f.page.ID, code) },
		edge: "ads_posts", warn: "ads posts not read", reason: worker.SkipAdsPostsRefused,
		notRead: func(r worker.PollReport) string { return r.AdsPostsNotRead },
		read:    func(r worker.PollReport) int { return r.AdsPosts },
	}
}
