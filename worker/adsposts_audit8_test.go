package worker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// adsFixture is one Page with a feed post and an ads-only post (made in Ads
// Manager, never published: listed by ads_posts, not by the feed), each with
// fresh visitor comments, and the Page's config replying to comments with a
// default text.
type adsFixture struct {
	h        *harness
	page     config.Page
	feed     []tasks.Reply // the feed post's comments
	ads      []tasks.Reply // the ads-only post's comments
	feedPost string
	adsPost  string
}

func newAdsFixture(t *testing.T, seed int64, adsPosts bool) *adsFixture {
	t.Helper()
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	page := pollPages(h)[0]
	page.ReplyTo = []string{config.ReplyComments}
	page.DefaultText = "Thanks!"
	page.AdsPosts = adsPosts
	f := &adsFixture{h: h, page: page}
	f.feedPost = h.sb.AddPost(page.ID, sandbox.User{}, "On the Page", time.Now().Add(-2*time.Hour))
	f.adsPost = h.sb.AddAdsPost(page.ID, "Only in an ad", time.Now().Add(-3*time.Hour))
	if f.adsPost == "" {
		t.Fatal("AddAdsPost: no post")
	}
	f.feed = f.comment(f.feedPost, 2, 100)
	f.ads = f.comment(f.adsPost, 3, 200)
	return f
}

// comment adds n visitor comments to post and returns their replies.
func (f *adsFixture) comment(post string, n, from int) []tasks.Reply {
	out := make([]tasks.Reply, n)
	for i := range out {
		id := f.h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(6100000 + from + i), Name: "Ada Visitor"}, "hello", time.Now().Add(-time.Minute))
		out[i] = tasks.Reply{PageID: f.page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks!", Source: tasks.SourcePoll}
	}
	return out
}

func (f *adsFixture) poller(log *slog.Logger, m *metrics.Metrics) *worker.Poller {
	p := f.h.pollParams([]config.Page{f.page})
	if log != nil {
		p.Logger = log
	}
	p.Metrics = m
	return worker.NewPoller(p)
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
			for _, r := range f.ads {
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
				for _, r := range f.ads {
					if n := h.sb.SendCount(r.Target.ID); n != 0 {
						t.Errorf("ads-only post's comment %s got %d sends with ads_posts off", r.Target.ID, n)
					}
				}
				return
			}
			all := append(append([]tasks.Reply{}, f.feed...), f.ads...)
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
	all := append(append([]tasks.Reply{}, f.feed...), f.ads...)
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
			f := newAdsFixture(t, 8803+int64(code), true)
			h, ctx := f.h, context.Background()
			h.sb.DenyAdsPosts(f.page.ID, code)
			var logs proctest.Buffer
			m := metrics.New()
			pl := f.poller(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), m)
			h.startWorker(t, 4)
			warns := func(from int) int {
				n := 0
				for _, line := range strings.Split(logs.String()[from:], "\n") {
					if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "ads posts not read") {
						n++
					}
				}
				return n
			}
			poll := func() worker.PollReport {
				t.Helper()
				rep, err := pl.Poll(ctx, f.page.ID, false)
				if err != nil {
					t.Fatalf("poll: %v", err)
				}
				if rep.Paused != "" {
					t.Errorf("poll stopped, page paused: %s", rep.Paused)
				}
				if d, reason, err := h.ledger.Paused(ctx, f.page.ID); err != nil || d > 0 {
					t.Errorf("page paused (%s, %s, %v) after an ads_posts refusal", d, reason, err)
				}
				return rep
			}
			for i := range 3 {
				rep := poll()
				if !strings.Contains(rep.AdsPostsNotRead, "ads_posts") || !strings.Contains(rep.AdsPostsNotRead, "code "+strconv.Itoa(code)) {
					t.Errorf("poll %d: ads posts not read %q, want why", i, rep.AdsPostsNotRead)
				}
				if i == 0 && rep.Enqueued() != len(f.feed) {
					t.Errorf("first poll queued %d, want the feed's %d", rep.Enqueued(), len(f.feed))
				}
			}
			h.waitSent(t, f.feed, 20*time.Second)
			if n := warns(0); n != 1 {
				t.Errorf("%d WARN lines over 3 refused polls, want 1:\n%s", n, logs.String())
			}
			if strings.Contains(logs.String(), f.page.AccessToken) {
				t.Error("a log line holds the Page's token")
			}
			var d dto.Metric
			if err := m.PollSkipped.WithLabelValues(f.page.ID, worker.SkipAdsPostsRefused).Write(&d); err != nil || d.GetCounter().GetValue() != 3 {
				t.Errorf("pagereply_skipped_total{reason=ads_posts_refused} = %v (%v), want 3", d.GetCounter().GetValue(), err)
			}
			for _, r := range f.ads {
				if n := h.sb.SendCount(r.Target.ID); n != 0 {
					t.Errorf("ads-only comment %s sent %d times while ads_posts was refused", r.Target.ID, n)
				}
			}

			// Granted: the ads posts are read; refused again: said again.
			h.sb.DenyAdsPosts(f.page.ID, 0)
			if rep := poll(); rep.AdsPostsNotRead != "" || rep.AdsPosts != 1 {
				t.Errorf("granted: %d ads posts, not read %q", rep.AdsPosts, rep.AdsPostsNotRead)
			}
			h.waitSent(t, f.ads, 20*time.Second)
			h.checkExactlyOnce(t, append(append([]tasks.Reply{}, f.feed...), f.ads...))
			h.sb.DenyAdsPosts(f.page.ID, code)
			mark := len(logs.String())
			poll()
			if n := warns(mark); n != 1 {
				t.Errorf("refused again after a read: %d WARN lines, want 1", n)
			}
		})
	}
}

// TestAdsPostsRefusedInPollResult: a poll task whose Page's ads posts Graph
// refused completes, and its result, which the monitor shows, says that the
// ads posts were not read and why.
func TestAdsPostsRefusedInPollResult(t *testing.T) {
	f := newAdsFixture(t, 8810, true)
	h := f.h
	h.sb.DenyAdsPosts(f.page.ID, sandbox.CodeAdsPermission)
	h.startPollingWorker(t, []config.Page{f.page}, f.poller(nil, nil))
	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	b, _ := json.Marshal(tasks.Poll{PageID: f.page.ID})
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.TaskID("poll:ads:1"), asynq.Queue(tasks.QueuePolls), asynq.Retention(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ti, err := insp.GetTaskInfo(tasks.QueuePolls, "poll:ads:1")
		if err == nil && ti.State == asynq.TaskStateCompleted {
			res := string(ti.Result)
			if !strings.HasPrefix(res, "posts 1,") || !strings.Contains(res, "queued 2") || !strings.Contains(res, "; ads posts not read: ") || !strings.Contains(res, "code 200") {
				t.Errorf("poll result %q: want the feed's counts and why the ads posts were not read", res)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("poll not completed: %+v %v", ti, err)
		}
	}
}
