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

// listingFixture is one Page replying to comments with a default text, with
// a feed post and a post only one of the poll's opt-in listings has (an
// ads-only post, a Reel), each with fresh visitor comments.
type listingFixture struct {
	h        *harness
	page     config.Page
	feed     []tasks.Reply // the feed post's comments
	only     []tasks.Reply // the other post's comments
	feedPost string
	onlyPost string
	from     int // the last visitor's id
}

// newListingFixture makes the Page (set turns its listing on or off), its
// feed post with 2 comments, and the post add makes with 3; visitors' ids
// count up from from.
func newListingFixture(t *testing.T, seed int64, from int, set func(*config.Page), add func(h *harness, page string) string) *listingFixture {
	t.Helper()
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	page := pollPages(h)[0]
	page.ReplyTo = []string{config.ReplyComments}
	page.DefaultText = "Thanks!"
	set(&page)
	f := &listingFixture{h: h, page: page, from: from}
	f.feedPost = h.sb.AddPost(page.ID, sandbox.User{}, "On the Page", time.Now().Add(-2*time.Hour))
	if f.onlyPost = add(h, page.ID); f.onlyPost == "" {
		t.Fatal("sandbox: the listing's post not made")
	}
	f.feed = f.comment(f.feedPost, 2)
	f.only = f.comment(f.onlyPost, 3)
	return f
}

// comment adds n visitor comments to post and returns their replies.
func (f *listingFixture) comment(post string, n int) []tasks.Reply {
	out := make([]tasks.Reply, n)
	for i := range out {
		f.from++
		id := f.h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(f.from), Name: "Ada Visitor"}, "hello", time.Now().Add(-time.Minute))
		out[i] = tasks.Reply{PageID: f.page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks!", Source: tasks.SourcePoll}
	}
	return out
}

func (f *listingFixture) poller(log *slog.Logger, m *metrics.Metrics) *worker.Poller {
	p := f.h.pollParams([]config.Page{f.page})
	if log != nil {
		p.Logger = log
	}
	p.Metrics = m
	return worker.NewPoller(p)
}

// edgeRefusal is one of the poll's opt-in listings besides the feed
// (ads_posts, video_reels) on a Page with one feed post and one post only
// that listing has, for checkEdgeRefusedKeepsFeed and
// checkEdgeRefusedInPollResult.
type edgeRefusal struct {
	h      *harness
	page   config.Page
	feed   []tasks.Reply // the feed post's comments
	only   []tasks.Reply // the comments of the post only the listing has
	poller func(*slog.Logger, *metrics.Metrics) *worker.Poller
	// deny makes Graph refuse the listing with code (0: read it again).
	deny func(code int)
	// edge names the listing in the report's why ("ads_posts"), warn the
	// WARN's words ("ads posts not read"), reason the skip reason.
	edge, warn, reason string
	// notRead and read are the report's why and count of the listing.
	notRead func(worker.PollReport) string
	read    func(worker.PollReport) int
}

// checkEdgeRefusedKeepsFeed: Graph refusing the listing with code neither
// pauses the Page nor fails its poll: the feed's comments are answered, the
// report says the listing was not read and why, pagereply_skipped_total
// counts each such poll, and the WARN comes once across polls, until a poll
// reads it; refused again, it is said again.
func checkEdgeRefusedKeepsFeed(t *testing.T, e edgeRefusal, code int) {
	t.Helper()
	h, ctx := e.h, context.Background()
	e.deny(code)
	var logs proctest.Buffer
	m := metrics.New()
	pl := e.poller(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), m)
	h.startWorker(t, 4)
	warns := func(from int) int {
		n := 0
		for _, line := range strings.Split(logs.String()[from:], "\n") {
			if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, e.warn) {
				n++
			}
		}
		return n
	}
	poll := func() worker.PollReport {
		t.Helper()
		rep, err := pl.Poll(ctx, e.page.ID, false)
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if rep.Paused != "" {
			t.Errorf("poll stopped, page paused: %s", rep.Paused)
		}
		if d, reason, err := h.ledger.Paused(ctx, e.page.ID); err != nil || d > 0 {
			t.Errorf("page paused (%s, %s, %v) after a %s refusal", d, reason, err, e.edge)
		}
		return rep
	}
	for i := range 3 {
		rep := poll()
		if why := e.notRead(rep); !strings.Contains(why, e.edge) || !strings.Contains(why, "code "+strconv.Itoa(code)) {
			t.Errorf("poll %d: %s %q, want why", i, e.warn, why)
		}
		if i == 0 && rep.Enqueued() != len(e.feed) {
			t.Errorf("first poll queued %d, want the feed's %d", rep.Enqueued(), len(e.feed))
		}
	}
	h.waitSent(t, e.feed, 20*time.Second)
	if n := warns(0); n != 1 {
		t.Errorf("%d WARN lines over 3 refused polls, want 1:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), e.page.AccessToken) {
		t.Error("a log line holds the Page's token")
	}
	var d dto.Metric
	if err := m.PollSkipped.WithLabelValues(e.page.ID, e.reason).Write(&d); err != nil || d.GetCounter().GetValue() != 3 {
		t.Errorf("pagereply_skipped_total{reason=%s} = %v (%v), want 3", e.reason, d.GetCounter().GetValue(), err)
	}
	for _, r := range e.only {
		if n := h.sb.SendCount(r.Target.ID); n != 0 {
			t.Errorf("comment %s, only %s lists its post, sent %d times while refused", r.Target.ID, e.edge, n)
		}
	}

	// Read again: its comments are answered; refused again: said again.
	e.deny(0)
	if rep := poll(); e.notRead(rep) != "" || e.read(rep) != 1 {
		t.Errorf("read again: %d posts from %s, not read %q", e.read(rep), e.edge, e.notRead(rep))
	}
	h.waitSent(t, e.only, 20*time.Second)
	h.checkExactlyOnce(t, append(append([]tasks.Reply{}, e.feed...), e.only...))
	e.deny(code)
	mark := len(logs.String())
	poll()
	if n := warns(mark); n != 1 {
		t.Errorf("refused again after a read: %d WARN lines, want 1", n)
	}
}

// checkEdgeRefusedInPollResult: a poll task (taskID) whose Page's listing
// Graph refuses (deny set by the caller) completes, and its result, which
// the monitor shows, gives the feed's counts and says the listing was not
// read and why (holding want).
func checkEdgeRefusedInPollResult(t *testing.T, e edgeRefusal, taskID, want string) {
	t.Helper()
	h := e.h
	h.startPollingWorker(t, []config.Page{e.page}, e.poller(nil, nil))
	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	b, _ := json.Marshal(tasks.Poll{PageID: e.page.ID})
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.TaskID(taskID), asynq.Queue(tasks.QueuePolls), asynq.Retention(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ti, err := insp.GetTaskInfo(tasks.QueuePolls, taskID)
		if err == nil && ti.State == asynq.TaskStateCompleted {
			res := string(ti.Result)
			if !strings.HasPrefix(res, "posts 1,") || !strings.Contains(res, "queued 2") || !strings.Contains(res, "; "+e.warn+": ") || !strings.Contains(res, want) {
				t.Errorf("poll result %q: want the feed's counts and why %s was not read (%q)", res, e.edge, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("poll not completed: %+v %v", ti, err)
		}
	}
}
