package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/scheduler"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// Reply rules of the poll tests. Page 0 has no default text, so comments no
// rule matches are skipped (no_rule).
const (
	priceMatch  = "(?i)price|cost"
	priceText   = "Hi {{.FirstName}}, prices are on our site."
	defaultText = "Thanks for your comment, {{.FirstName}}!"
)

var priceRe = regexp.MustCompile(priceMatch)

// expectedText renders the rules independently of config.Page.Render.
func expectedText(page int, name, msg string) (string, bool) {
	first := ""
	if f := strings.Fields(name); len(f) > 0 {
		first = f[0]
	}
	if priceRe.MatchString(msg) {
		return "Hi " + first + ", prices are on our site.", true
	}
	if page == 0 {
		return "", false
	}
	return "Thanks for your comment, " + first + "!", true
}

func pollPages(h *harness) []config.Page {
	var out []config.Page
	for i, p := range h.sb.Pages() {
		pg := config.Page{
			ID: p.ID, AccessToken: p.Token, Schedule: "@every 1s",
			Rate: config.Rate{N: 100000, Per: time.Second}, Burst: 1,
			ReplyTo: []string{config.ReplyComments, config.ReplyPosts},
			MaxAge:  168 * time.Hour, ScanPosts: 720 * time.Hour,
			Rules: []config.Rule{{Match: priceMatch, Text: priceText}},
		}
		if i > 0 {
			pg.DefaultText = defaultText
		}
		out = append(out, pg)
	}
	return out
}

// conversationPages is pollPages with its first Page replying to
// conversations only, with a default text.
// commentPages is pollPages with the first Page replying to comments only,
// with the default text.
func commentPages(h *harness) []config.Page {
	pages := pollPages(h)
	pages[0].ReplyTo = []string{config.ReplyComments}
	pages[0].DefaultText = defaultText
	return pages
}

// postPages is pollPages with the first Page replying to visitors' posts
// only, with the default text, scanning a day of posts.
func postPages(h *harness) []config.Page {
	pages := pollPages(h)
	pages[0].ScanPosts = 24 * time.Hour
	pages[0].ReplyTo = []string{config.ReplyPosts}
	pages[0].DefaultText = defaultText
	return pages
}

func conversationPages(h *harness) []config.Page {
	pages := pollPages(h)
	pages[0].ReplyTo = []string{config.ReplyConversations}
	pages[0].DefaultText = defaultText
	return pages
}

type expectation struct {
	page   string
	target string
	text   string
}

// expected lists every item of the sandbox that must get a reply.
func expected(h *harness, pages []config.Page, now time.Time) (want []expectation, ineligible []string) {
	for i, pg := range pages {
		for _, c := range h.sb.AllComments(pg.ID) {
			text, ok := expectedText(i, c.From.Name, c.Message)
			if !c.FromPage && c.CanReplyPrivately && now.Sub(c.CreatedTime) < 7*24*time.Hour && ok {
				want = append(want, expectation{pg.ID, c.ID, text})
			} else {
				ineligible = append(ineligible, c.ID)
			}
		}
		for _, p := range h.sb.Posts(pg.ID) {
			text, ok := expectedText(i, p.From.Name, p.Message)
			if !p.FromPage && p.CanReplyPrivately && now.Sub(p.CreatedTime) < 7*24*time.Hour && ok {
				want = append(want, expectation{pg.ID, p.ID, text})
			} else if !p.FromPage {
				ineligible = append(ineligible, p.ID)
			}
		}
	}
	return want, ineligible
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// countingPoll counts the poll tasks handled, by TaskID.
type countingPoll struct {
	next asynq.Handler
	mu   sync.Mutex
	runs map[string]int
}

func (c *countingPoll) ProcessTask(ctx context.Context, t *asynq.Task) error {
	if t.Type() == tasks.TypePoll {
		id, _ := asynq.GetTaskID(ctx)
		c.mu.Lock()
		c.runs[id]++
		c.mu.Unlock()
	}
	return c.next.ProcessTask(ctx, t)
}

func (h *harness) pollParams(pages []config.Page) worker.PollParams {
	return worker.PollParams{
		Graph:  graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 5 * time.Second}),
		Ledger: h.ledger, Enqueuer: h.enq, Pages: pages, Logger: testLogger(),
	}
}

func (h *harness) startPollingWorker(t *testing.T, pages []config.Page, poll asynq.Handler) {
	t.Helper()
	p := testParams(h.opt, h.ledger, graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), pages, 20, testLogger())
	p.Poll = poll
	w := worker.New(p)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Shutdown(context.Background()) })
}

func (h *harness) startScheduler(t *testing.T, pages []config.Page) {
	t.Helper()
	s, err := scheduler.New(scheduler.Params{Redis: h.opt, Pages: pages, Ledger: h.ledger, Logger: testLogger(), PollAtStart: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Error(err)
		}
	})
}

// waitReplies waits until every expected target has a send.
func waitReplies(t *testing.T, h *harness, want []expectation, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := 0
		for _, e := range want {
			if h.sb.SendCount(e.target) == 0 {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d eligible items got no reply after %s (queues: %s)", missing, len(want), timeout, h.queueSummary())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPollPipeline: 3 Pages × 20 posts × 30 comments with visitor posts, two
// schedulers polling every second and a worker: every eligible comment and
// visitor post gets exactly one reply with the right text, no other item gets
// one, each poll slot runs once, and comments added meanwhile are answered
// within two poll periods.
func TestPollPipeline(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 3, Posts: 20, Comments: 30, VisitorPosts: true, Seed: 1})
	pages := pollPages(h)
	want, ineligible := expected(h, pages, time.Now())
	if len(want) < 1000 || len(ineligible) < 200 {
		t.Fatalf("sandbox mix: %d eligible, %d ineligible: the test proves little", len(want), len(ineligible))
	}

	counter := &countingPoll{next: worker.NewPollHandler(h.pollParams(pages)), runs: map[string]int{}}
	h.startPollingWorker(t, pages, counter)
	start := time.Now()
	h.startScheduler(t, pages)
	h.startScheduler(t, pages)

	waitReplies(t, h, want, 30*time.Second)
	t.Logf("%d eligible items answered in %s", len(want), time.Since(start).Round(time.Millisecond))

	// Comments added while it runs.
	type added struct {
		id, text string
		at       time.Time
	}
	var fresh []added
	for i, pg := range pages {
		posts := h.sb.Posts(pg.ID)
		for j := range 3 {
			at := time.Now()
			name := fmt.Sprintf("Late%d Visitor", j)
			id := h.sb.AddComment(posts[(j*7)%len(posts)].ID, sandbox.User{ID: fmt.Sprintf("77700000000%d%d", i, j), Name: name}, "price please", at)
			text, _ := expectedText(i, name, "price please")
			fresh = append(fresh, added{id, text, at})
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, f := range fresh {
		for h.sb.SendCount(f.id) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	var worst time.Duration
	for _, f := range fresh {
		var sent *sandbox.Send
		for _, s := range h.sb.Sends() {
			if s.Target == f.id {
				sent = &s
				break
			}
		}
		if sent == nil {
			t.Fatalf("comment %s added while running got no reply", f.id)
		}
		if d := sent.Time.Sub(f.at); d > worst {
			worst = d
		}
		if sent.Text != f.text {
			t.Errorf("comment %s: text %q, want %q", f.id, sent.Text, f.text)
		}
	}
	t.Logf("comments added while running: slowest answered after %s", worst.Round(time.Millisecond))
	if worst > 2*time.Second+500*time.Millisecond {
		t.Errorf("a comment added while running waited %s for its reply, want within two poll periods (2s)", worst)
	}

	// A few more poll periods: nothing new must be sent.
	time.Sleep(2500 * time.Millisecond)
	sends := h.sb.Sends()
	byTarget := map[string]sandbox.Send{}
	for _, s := range sends {
		byTarget[s.Target] = s
	}
	for _, e := range want {
		if n := h.sb.SendCount(e.target); n != 1 {
			t.Errorf("target %s got %d sends, want 1", e.target, n)
		}
		if s := byTarget[e.target]; s.Text != e.text {
			t.Errorf("target %s: text %q, want %q", e.target, s.Text, e.text)
		}
	}
	for _, id := range ineligible {
		if n := h.sb.SendCount(id); n != 0 {
			t.Errorf("ineligible item %s got %d sends", id, n)
		}
	}
	if got, wantN := len(sends), len(want)+len(fresh); got != wantN {
		t.Errorf("sandbox recorded %d sends, want %d", got, wantN)
	}
	counter.mu.Lock()
	defer counter.mu.Unlock()
	for id, n := range counter.runs {
		if n != 1 {
			t.Errorf("poll %s ran %d times with two schedulers, want once", id, n)
		}
	}
	if len(counter.runs) < 3*3 {
		t.Errorf("only %d polls ran", len(counter.runs))
	}
	t.Logf("%d poll slots ran once each; graph calls %v", len(counter.runs), h.sb.Calls())
}

// TestPollDryRun: a dry run lists what would get a reply and writes nothing.
func TestPollDryRun(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 2, Posts: 10, Comments: 20, VisitorPosts: true, Seed: 3})
	pages := pollPages(h)
	want, _ := expected(h, pages, time.Now())
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	got := map[string]string{}
	skipped := 0
	for _, pg := range pages {
		rep, err := pl.Poll(ctx, pg.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rep.Replies {
			got[r.Target.ID] = r.Text
			if r.FromName == "" || r.FromID == "" {
				t.Errorf("dry-run reply %s has no author", r.Target)
			}
		}
		for _, n := range rep.Skipped {
			skipped += n
		}
		if rep.Skipped[intake.SkipOwn] == 0 || rep.Skipped[intake.SkipTooOld] == 0 || rep.Skipped[intake.SkipCannotReply] == 0 {
			t.Errorf("page %s skip counts %v: want own, too_old and cannot_reply", pg.ID, rep.Skipped)
		}
	}
	if len(got) != len(want) {
		t.Errorf("dry run lists %d replies, want %d", len(got), len(want))
	}
	for _, e := range want {
		if got[e.target] != e.text {
			t.Errorf("dry run: %s text %q, want %q", e.target, got[e.target], e.text)
		}
	}
	if n := h.db.Client.DBSize(ctx).Val(); n != 0 {
		keys := h.db.Client.Keys(ctx, "*").Val()
		t.Fatalf("dry run wrote %d keys to Redis: %v", n, keys)
	}
	if len(h.sb.Sends()) != 0 {
		t.Fatal("dry run sent replies")
	}
	t.Logf("dry run: %d would-be replies, %d skipped", len(got), skipped)
}

// TestPollIncremental: after a first poll, a second poll with new comments on
// a few posts reads the comments of those posts only, not of every post.
func TestPollIncremental(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 300, Seed: 5})
	pages := pollPages(h)
	page := pages[0].ID
	// Comments on every post, seeded a while ago.
	posts := h.sb.Posts(page)
	for i, p := range posts {
		for j := range 5 {
			h.sb.AddComment(p.ID, sandbox.User{ID: fmt.Sprintf("8800%04d%d", i, j), Name: "Old Friend"}, "cost?", time.Now().Add(-time.Duration(i+j+1)*time.Minute))
		}
	}
	pp := h.pollParams(pages)
	pp.UnchangedAfter = 2 * time.Second // not to wait the minute out
	pl := worker.NewPoller(pp)
	ctx := context.Background()
	first, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	firstCalls := h.sb.Calls()
	if first.CommentReads < 250 || first.Enqueued() < 1000 {
		t.Fatalf("first poll %+v: want most posts read and their comments enqueued", first)
	}
	const touched = 7
	for i := range touched {
		for j := range 100 / touched {
			h.sb.AddComment(posts[i*40].ID, sandbox.User{ID: fmt.Sprintf("9900%02d%03d", i, j), Name: "New Friend"}, "price?", time.Now())
		}
	}
	second, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	calls := h.sb.Calls()
	commentCalls := calls[sandbox.EndpointComments] - firstCalls[sandbox.EndpointComments]
	if commentCalls != touched || second.CommentReads != touched {
		t.Errorf("second poll made %d comment calls (%d reads) for %d touched posts of %d", commentCalls, second.CommentReads, touched, len(posts))
	}
	if second.Enqueued() != touched*(100/touched) {
		t.Errorf("second poll enqueued %d, want %d", second.Enqueued(), touched*(100/touched))
	}
	// The touched posts changed less than UnchangedAfter before they were
	// read, so the next poll reads them once more (a comment could share
	// that second); after that, a poll with nothing new reads no comments.
	time.Sleep(2100 * time.Millisecond) // past UnchangedAfter
	for i, wantMax := range []int{touched, 0} {
		before := h.sb.Calls()[sandbox.EndpointComments]
		rep, err := pl.Poll(ctx, page, false)
		if err != nil {
			t.Fatal(err)
		}
		if n := h.sb.Calls()[sandbox.EndpointComments] - before; n > wantMax || rep.Enqueued() != 0 {
			t.Errorf("idle poll %d made %d comment calls (want at most %d) and enqueued %d", i+1, n, wantMax, rep.Enqueued())
		}
	}
	t.Logf("first poll: %d comment calls; second: %d for %d touched posts; feed calls per poll: %d",
		firstCalls[sandbox.EndpointComments], commentCalls, touched, firstCalls[sandbox.EndpointFeed])
}

// TestPollBrokenToken: a token refused during a poll pauses the Page; the next
// poll skips it while paused. A dry run before writes nothing, a pause
// included, and reports none: its error says what Graph answered.
func TestPollBrokenToken(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 5, Comments: 5, Seed: 9})
	pages := pollPages(h)
	page := pages[0].ID
	h.sb.BreakToken(page, true)
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	rep, err := pl.Poll(ctx, page, true)
	if graph.ClassOf(err) != graph.ClassPageBroken || rep.Paused != "" {
		t.Fatalf("dry poll with a broken token: %v, paused %q; want the page-broken error and no pause reported", err, rep.Paused)
	}
	if d, _, err := h.ledger.Paused(ctx, page); err != nil || d > 0 {
		t.Fatalf("a dry poll paused the Page: %s %v", d, err)
	}
	rep, err = pl.Poll(ctx, page, false)
	if graph.ClassOf(err) != graph.ClassPageBroken || !strings.HasPrefix(rep.Paused, "page_broken") {
		t.Fatalf("poll with a broken token: %v, paused %q", err, rep.Paused)
	}
	d, reason, err := h.ledger.Paused(ctx, page)
	if err != nil || d <= 0 || !strings.HasPrefix(reason, "page_broken") {
		t.Fatalf("page not paused as broken: %s %q %v", d, reason, err)
	}
	if strings.Contains(reason, pages[0].AccessToken) {
		t.Fatal("pause reason holds the token")
	}
	before := h.sb.Calls()[sandbox.EndpointFeed]
	rep, err = pl.Poll(ctx, page, false)
	if err != nil || rep.Paused == "" || h.sb.Calls()[sandbox.EndpointFeed] != before {
		t.Fatalf("poll of a paused Page: %v, paused %q, feed calls %d→%d", err, rep.Paused, before, h.sb.Calls()[sandbox.EndpointFeed])
	}
}

// TestPollConversations: conversations where the person wrote last inside 24
// hours get one reply to their latest message.
func TestPollConversations(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 40, Seed: 21})
	pages := conversationPages(h)
	page := pages[0].ID
	now := time.Now()
	want := map[string]string{} // psid → latest message id
	for _, c := range h.sb.Conversations(page) {
		last := c.Messages[len(c.Messages)-1]
		if !last.FromPage && now.Sub(last.CreatedTime) < 24*time.Hour {
			if _, ok := expectedText(1, c.With.Name, last.Text); ok {
				want[c.With.ID] = last.ID
			}
		}
	}
	if len(want) < 5 {
		t.Fatalf("only %d eligible conversations", len(want))
	}
	pl := worker.NewPoller(h.pollParams(pages))
	h.startPollingWorker(t, pages, nil)
	rep, err := pl.Poll(context.Background(), page, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued() != len(want) {
		t.Fatalf("enqueued %d conversation replies, want %d (report %+v)", rep.Enqueued(), len(want), rep.Report)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(h.sb.Sends()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range h.sb.Sends() {
		if _, ok := want[s.Target]; !ok || s.Kind != sandbox.KindConversation {
			t.Errorf("%s reply to %s, who is not eligible", s.Kind, s.Target)
		}
	}
	if len(h.sb.Sends()) != len(want) {
		t.Fatalf("%d sends, want %d", len(h.sb.Sends()), len(want))
	}
}

// TestPollPastEmptyPages: Graph filters hidden and removed comments out of a
// page after cutting it, so a page of comments can be empty and still have a
// paging.next. The poll must read on to the end: 250 comments on one post,
// the middle 100 hidden, give a first page of 100, an empty second page and
// a third page of 50, and all 150 visible comments get a reply.
func TestPollPastEmptyPages(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 1, Seed: 31})
	pages := pollPages(h)
	page := pages[0].ID
	post := h.sb.Posts(page)[0].ID
	now := time.Now()
	visible := map[string]bool{}
	for i := range 250 {
		// Oldest first; the listing is newest first, so comments 50–149
		// fill its second page.
		id := h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("7700%04d", i), Name: "Hidden Friend"}, "price?", now.Add(-time.Duration(250-i)*time.Second))
		if i >= 50 && i < 150 {
			if !h.sb.HideComment(id) {
				t.Fatalf("hide %s", id)
			}
			continue
		}
		visible[id] = true
	}
	pl := worker.NewPoller(h.pollParams(pages))
	before := h.sb.Calls()[sandbox.EndpointComments]
	rep, err := pl.Poll(context.Background(), page, true)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, r := range rep.Replies {
		if !visible[r.Target.ID] {
			t.Errorf("reply to %s, which is hidden or unknown", r.Target)
			continue
		}
		got++
	}
	if got != len(visible) {
		t.Errorf("poll found %d of %d visible comments", got, len(visible))
	}
	if n := h.sb.Calls()[sandbox.EndpointComments] - before; n != 3 {
		t.Errorf("%d comment calls, want 3 (100, none, 50)", n)
	}
}

// TestPollPacesEveryPage: the poll takes a read slot for every page of a
// listing it fetches, not for every 100 items: a run of empty pages (hidden
// comments) is paced at the Page's rate like full ones. So is a dry run,
// which takes no read slot in Redis: Graph's limit holds for the Page
// whoever calls, and an unpaced dry run of a big Page would get it throttled
// under the workers' feet.
func TestPollPacesEveryPage(t *testing.T) {
	for _, dry := range []bool{false, true} {
		t.Run(map[bool]string{false: "poll", true: "dry run"}[dry], func(t *testing.T) {
			h, pages, calls := slowCommentPages(t, map[bool]int64{false: 71, true: 75}[dry], config.Rate{N: 5, Per: time.Second}, 6)
			page := pages[0].ID
			p := h.pollParams(pages)
			p.Graph = graph.New(graph.Config{BaseURL: calls.url, Timeout: 5 * time.Second})
			rep, err := worker.NewPoller(p).Poll(context.Background(), page, dry)
			if err != nil {
				t.Fatal(err)
			}
			at := calls.times()
			found := rep.Enqueued()
			if dry {
				found = len(rep.Replies)
			}
			if found != 10 || len(at) != 6 {
				t.Fatalf("%d replies found, %d comment calls; want 10 and 6", found, len(at))
			}
			// 5/s with a burst of 1 (the feed read took a slot before
			// them): the six calls span at least four intervals.
			if span := at[len(at)-1].Sub(at[0]); span < 4*180*time.Millisecond {
				t.Errorf("six comment pages in %s: not paced at 5/s", span)
			}
		})
	}
}

// TestPollLeaseRenewedWhileReading: a poll that reads for longer than its
// lease (a big Page at a low read rate) renews the lease as it reads, so a
// second poll of the Page meanwhile (the next slot's, on another worker) is
// skipped as busy: one that ran beside it would read everything again and
// take the Page's read slots twice over. The lease here is 2 s; the poll
// reads twelve pages of comments at 2 a second, and the second poll starts
// at the ninth, 4 s in.
func TestPollLeaseRenewedWhileReading(t *testing.T) {
	h, pages, calls := slowCommentPages(t, 76, config.Rate{N: 2, Per: time.Second}, 12)
	page := pages[0].ID
	p := h.pollParams(pages)
	p.Graph = graph.New(graph.Config{BaseURL: calls.url, Timeout: 5 * time.Second})
	p.Lease = 2 * time.Second
	pl := worker.NewPoller(p)
	first := make(chan error, 1)
	go func() {
		_, err := pl.Poll(context.Background(), page, false)
		first <- err
	}()
	for deadline := time.Now().Add(60 * time.Second); len(calls.times()) < 9; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the first poll made %d comment calls in 60 s", len(calls.times()))
		}
	}
	rep, err := worker.NewPoller(p).Poll(context.Background(), page, false)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Busy {
		t.Errorf("a second poll ran beside the first, %d comment calls into it: its lease was not renewed (report %+v)", len(calls.times()), rep.Report)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if n := len(calls.times()); n != 12 {
		t.Errorf("%d comment calls, want the first poll's 12", n)
	}
}

// TestPollReadsOldPostAfterQuietOne: a post created before scan_posts with a
// fresh comment is read although the feed lists it after an old, quiet post
// (the walk stops only after a run of quiet ones); the walk still stops in a
// long quiet history.
func TestPollReadsOldPostAfterQuietOne(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 78})
	pages := pollPages(h)
	page := pages[0].ID
	now := time.Now()
	h.sb.AddPost(page, sandbox.User{ID: page}, "new post", now.Add(-time.Hour))
	const quietRun = 25 // worker's quietBeyondScan
	for i := range 10 {
		h.sb.AddPost(page, sandbox.User{ID: page}, "quiet old post", now.Add(-time.Duration(35*24+i)*time.Hour))
	}
	b := h.sb.AddPost(page, sandbox.User{ID: page}, "old post B", now.Add(-40*24*time.Hour))
	h.sb.AddComment(b, sandbox.User{ID: "7801", Name: "Bob"}, "price?", now.Add(-time.Minute))
	c := h.sb.AddPost(page, sandbox.User{ID: page}, "old post C, after a long quiet run", now.Add(-60*24*time.Hour))
	for i := range quietRun + 1 {
		h.sb.AddPost(page, sandbox.User{ID: page}, "older quiet post", now.Add(-time.Duration(50*24+i)*time.Hour))
	}
	h.sb.AddComment(c, sandbox.User{ID: "7802", Name: "Cid"}, "price?", now.Add(-time.Minute))
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(context.Background(), page, false)
	if err != nil {
		t.Fatal(err)
	}
	// B is read (beyond scan_posts, after quiet posts); C, after more quiet
	// posts in a row than the walk goes past, is left to the webhook.
	if rep.Enqueued() != 1 || rep.BeyondScan != 1 {
		t.Errorf("poll: %d enqueued, %d posts beyond scan_posts read, want B's comment alone", rep.Enqueued(), rep.BeyondScan)
	}
}

// TestVisitorPostOlderThanScanPosts: with scan_posts (how far back the poll
// looks at posts for new comments) shorter than max_age, a visitor's post
// created between the two, inside its reply window, never got its reply:
// the poll took posts beyond scan_posts for their comments only (and with
// reply_to [posts] alone, did not look at them at all). It is a target now,
// and the poll reads no more comments for it than before: the feed's entry
// is all a post reply needs.
func TestVisitorPostOlderThanScanPosts(t *testing.T) {
	for _, tc := range []struct {
		name      string
		replyTo   []string
		wantReads int // comment reads: the posts updated inside max_age
	}{
		{name: "comments and posts", replyTo: []string{config.ReplyComments, config.ReplyPosts}, wantReads: 2},
		{name: "posts only", replyTo: []string{config.ReplyPosts}, wantReads: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 91})
			pages := pollPages(h)
			pages[0].ScanPosts = 24 * time.Hour
			pages[0].ReplyTo = tc.replyTo
			pages[0].DefaultText = defaultText
			page := pages[0].ID
			now := time.Now()
			vp := h.sb.AddPost(page, sandbox.User{ID: "9101", Name: "Vera Visitor"}, "do you deliver?", now.Add(-48*time.Hour))
			h.sb.AddPost(page, sandbox.User{ID: page}, "the Page's own", now.Add(-50*time.Hour))
			old := h.sb.AddPost(page, sandbox.User{ID: "9102", Name: "Otto Old"}, "still open?", now.Add(-10*24*time.Hour))
			before := h.sb.Calls()[sandbox.EndpointComments]
			rep, err := worker.NewPoller(h.pollParams(pages)).Poll(context.Background(), page, false)
			if err != nil {
				t.Fatal(err)
			}
			if !queued(t, h, "post:"+vp) {
				t.Errorf("visitor post of 48h ago (max_age 168h, scan_posts 24h): no reply task; report %+v", rep.Report)
			}
			if queued(t, h, "post:"+old) {
				t.Error("visitor post of 10 days ago, outside max_age: queued")
			}
			if n := h.sb.Calls()[sandbox.EndpointComments] - before; rep.CommentReads != tc.wantReads || n != tc.wantReads {
				t.Errorf("comment reads %d (Graph calls %d), want %d", rep.CommentReads, n, tc.wantReads)
			}
		})
	}
}

// TestDryPollThrottledPauses: a dry run writes nothing but the pause of a
// throttle Graph answered it with: Graph's limit holds for the Page whoever
// called, and the workers would otherwise go on calling it.
func TestDryPollThrottledPauses(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 5, Comments: 5, Seed: 9})
	pages := pollPages(h)
	page := pages[0].ID
	h.sb.Throttle(page, time.Minute)
	ctx := context.Background()
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, true)
	if graph.ClassOf(err) != graph.ClassThrottled || !strings.HasPrefix(rep.Paused, "throttled") {
		t.Fatalf("dry poll of a throttled Page: %v, paused %q; want the throttle and its pause", err, rep.Paused)
	}
	if d, reason, err := h.ledger.Paused(ctx, page); err != nil || d <= 0 || tasks.PauseKind(reason) != tasks.PauseThrottled {
		t.Fatalf("after the dry poll the Page is paused %s (%q, %v), want throttled", d, reason, err)
	}
}

// TestPollRankedComments: Graph lists the comments of a post that "can be
// ranked" ranked, whatever order was asked for, and says so in the listing's
// summary. A ranked post's old, much-answered comments come first: the walk
// reads such a listing to its end instead of stopping at the first old
// comment, on the first poll and on incremental ones, while a post listed
// newest first is still read only down to what the last poll saw.
func TestPollRankedComments(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 79})
	pages := pollPages(h)
	page := pages[0].ID
	now := time.Now()
	ranked := h.sb.AddPost(page, sandbox.User{ID: page}, "ranked post", now.Add(-10*24*time.Hour))
	plain := h.sb.AddPost(page, sandbox.User{ID: page}, "plain post", now.Add(-10*24*time.Hour))
	for _, post := range []string{ranked, plain} {
		// Old comments, outside the reply window, the first with replies,
		// so that ranking puts them first: more than a page of them.
		for i := range 150 {
			id := h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("7700%04d", i), Name: "Old Friend"}, "price?", now.Add(-time.Duration(8*24*60-i)*time.Minute))
			if i == 0 {
				for j := range 3 {
					h.sb.AddReply(id, sandbox.User{ID: fmt.Sprintf("7710%04d", j), Name: "Old Reply"}, "me too", now.Add(-8*24*time.Hour+time.Duration(j+1)*time.Hour))
				}
			}
		}
	}
	if !h.sb.RankComments(ranked) {
		t.Fatal("RankComments: unknown post")
	}
	h.sb.AddComment(ranked, sandbox.User{ID: "77990001", Name: "New Friend"}, "price?", now.Add(-2*time.Minute))
	h.sb.AddComment(plain, sandbox.User{ID: "77990002", Name: "New Friend"}, "price?", now.Add(-2*time.Minute))

	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	first, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	if first.Enqueued() != 2 || first.ReadToEnd != 1 {
		t.Fatalf("first poll enqueued %d (want the new comment of each post, 2), read %d posts to the end (want the ranked one): %+v", first.Enqueued(), first.ReadToEnd, first)
	}
	// A comment of each post, newer than anything seen.
	h.sb.AddComment(ranked, sandbox.User{ID: "77990003", Name: "Newer Friend"}, "price?", now)
	h.sb.AddComment(plain, sandbox.User{ID: "77990004", Name: "Newer Friend"}, "price?", now)
	before := h.sb.Calls()[sandbox.EndpointComments]
	second, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	if second.Enqueued() != 2 {
		t.Errorf("second poll enqueued %d, want the newer comment of each post (2): %+v", second.Enqueued(), second)
	}
	// The ranked post's 155 comments and replies take two pages; the plain
	// post's walk stops on its first page.
	if n := h.sb.Calls()[sandbox.EndpointComments] - before; n != 3 {
		t.Errorf("second poll made %d comment calls, want 2 for the ranked post and 1 for the plain one", n)
	}
	checkQueuedFresh(t, h, page, now) // the four new comments, none of the old
}

// TestPollHiddenAuthors: Graph leaves from out of a post or comment whose
// author's privacy keeps them from the app. Such a visitor's post and comment
// are answered (Graph's can_reply_privately decides); the Page's own post,
// which always names the Page, is not.
func TestPollHiddenAuthors(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 80})
	pages := pollPages(h)
	page := pages[0].ID
	now := time.Now()
	visitor := h.sb.AddPost(page, sandbox.User{ID: "7901", Name: "Vera Hidden"}, "what does it cost?", now.Add(-time.Hour))
	own := h.sb.AddPost(page, sandbox.User{ID: page}, "our news", now.Add(-time.Hour))
	comment := h.sb.AddComment(own, sandbox.User{ID: "7902", Name: "Carl Hidden"}, "price?", now.Add(-time.Minute))
	for _, id := range []string{visitor, comment} {
		if !h.sb.HideAuthor(id) {
			t.Fatalf("HideAuthor(%s) refused", id)
		}
	}
	// The same post delivered by the webhook, on a second one.
	webhookPost := h.sb.AddPost(page, sandbox.User{ID: "7903", Name: "Wanda Hidden"}, "price please?", now.Add(-time.Minute))
	h.sb.HideAuthor(webhookPost)
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	payload, err := json.Marshal(tasks.WebhookItem{PageID: page, Kind: tasks.KindPost, ID: webhookPost, ReceivedAt: time.Now().UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	if err := pl.ProcessTask(ctx, asynq.NewTask(tasks.TypeWebhookItem, payload)); err != nil {
		t.Fatalf("webhook item: %v", err)
	}
	rep, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	for target, want := range map[string]bool{"post:" + visitor: true, "comment:" + comment: true, "post:" + webhookPost: true, "post:" + own: false} {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, target)
		if (err == nil) != want {
			t.Errorf("%s: reply task found %v, want %v (poll %+v)", target, err == nil, want, rep.Report)
		}
		if err == nil && target == "post:"+webhookPost {
			var r tasks.Reply
			if err := json.Unmarshal(ti.Payload, &r); err != nil || r.Source != tasks.SourceWebhook {
				t.Errorf("%s: queued by %q (%v), want the webhook", target, r.Source, err)
			}
		}
	}
}

// TestPollHostClockAhead: a comment comes in the very second of its post's
// last comment, after the poll read the post, so the post's updated_time does
// not move. The poll must read the post once more, as its last read may have
// been in that second. It knew so by comparing when it read (the host's
// clock) with updated_time (Graph's), 2 s apart at least: with the host's
// clock 3 s ahead of Graph's (within what a container without NTP drifts),
// every poll took the post for unchanged, and the comment waited for the
// next full read, up to 6 hours.
func TestPollHostClockAhead(t *testing.T) {
	for _, tc := range []struct {
		name string
		skew time.Duration // host clock minus Graph's
	}{
		{name: "in step"},
		{name: "host 3s ahead", skew: 3 * time.Second},
		{name: "host 30s ahead", skew: 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 92})
			pages := pollPages(h)
			page := pages[0].ID
			ctx := context.Background()
			graphNow := time.Now().Add(-tc.skew)
			post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", graphNow.Add(-time.Hour))
			sec := graphNow.Truncate(time.Second)
			h.sb.AddComment(post, sandbox.User{ID: "9201", Name: "Ann First"}, "price?", sec)
			pl := worker.NewPoller(h.pollParams(pages))
			if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 1 {
				t.Fatalf("first poll: %+v %v", rep.Report, err)
			}
			// In the same Graph second, after the read.
			late := h.sb.AddComment(post, sandbox.User{ID: "9202", Name: "Bea Same"}, "price?", sec.Add(900*time.Millisecond))
			if _, err := pl.Poll(ctx, page, false); err != nil {
				t.Fatal(err)
			}
			if !queued(t, h, "comment:"+late) {
				t.Error("comment written in the second of the last one, after the read: no reply task at the next poll")
			}
		})
	}
}

// TestPollOverlap: an incremental poll reads back a while (Overlap) before
// the newest comment and conversation it saw, for what Graph shows late: a
// comment, or a conversation's message, dated before the newest one seen but
// listed only after the last poll is still answered when the post is read
// again (here for a fresh comment beside it).
func TestPollOverlap(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 82})
	pages := pollPages(h)
	pages[0].ReplyTo = []string{config.ReplyComments, config.ReplyConversations}
	pages[0].DefaultText = defaultText
	page := pages[0].ID
	now := time.Now()
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", now.Add(-time.Hour))
	h.sb.AddComment(post, sandbox.User{ID: "8201", Name: "Ann First"}, "price?", now.Add(-time.Minute))
	h.sb.AddMessage(page, sandbox.User{ID: "8211", Name: "Bob First"}, "hello", now.Add(-time.Minute))
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 2 {
		t.Fatalf("first poll: %+v %v, want the comment and the conversation", rep.Report, err)
	}
	// Shown late: dated 30 s before the newest seen.
	late := h.sb.AddComment(post, sandbox.User{ID: "8202", Name: "Cid Late"}, "price?", now.Add(-90*time.Second))
	h.sb.AddMessage(page, sandbox.User{ID: "8212", Name: "Dee Late"}, "hello", now.Add(-90*time.Second))
	h.sb.AddComment(post, sandbox.User{ID: "8203", Name: "Eve Fresh"}, "price?", now)
	rep, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued() != 3 {
		t.Errorf("second poll enqueued %d, want the late and the fresh comment and the late conversation (%+v)", rep.Enqueued(), rep.Report)
	}
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	if _, err := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+late); err != nil {
		t.Errorf("no reply task for the late comment: %v", err)
	}
}

// listingGraph changes what the comment listings say: after yielding the
// after-th comment of a walk it calls between once; order, when set, replaces
// each comment's ListOrder ("-" for none, as an answer without a summary);
// reorder, when set, rearranges a whole listing.
type listingGraph struct {
	worker.PollGraph
	after   int
	between func()
	order   string
	reorder func([]graph.Comment) []graph.Comment
}

func (g *listingGraph) Comments(ctx context.Context, token, postID string) iter.Seq2[graph.Comment, error] {
	seq := g.PollGraph.Comments(ctx, token, postID)
	if g.reorder != nil {
		var all []graph.Comment
		for c, err := range seq {
			if err != nil {
				return func(yield func(graph.Comment, error) bool) { yield(graph.Comment{}, err) }
			}
			all = append(all, c)
		}
		seq = func(yield func(graph.Comment, error) bool) {
			for _, c := range g.reorder(all) {
				if !yield(c, nil) {
					return
				}
			}
		}
	}
	return func(yield func(graph.Comment, error) bool) {
		n := 0
		for c, err := range seq {
			switch g.order {
			case "":
			case "-":
				c.ListOrder = ""
			default:
				c.ListOrder = g.order
			}
			if !yield(c, err) {
				return
			}
			if n++; n == g.after && g.between != nil {
				g.between()
				g.between = nil
			}
		}
	}
}

// TestPollRankedListingMoves: a ranked listing's order moves between the
// pages of one walk. A comment that gets replies while the walk is between
// pages climbs ahead of the cursor and is passed over; the next poll, which
// reads the post again for those replies, must still queue it, though it is
// older than the newest comment the first poll saw (by more than the
// overlap). A listing that says nothing of its order is read to its end.
func TestPollRankedListingMoves(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order string
		moves bool
	}{
		{name: "ranked, a comment climbs mid-walk", moves: true},
		{name: "no summary", order: "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 83})
			pages := pollPages(h)
			page := pages[0].ID
			now := time.Now()
			post := h.sb.AddPost(page, sandbox.User{ID: page}, "ranked post", now.Add(-10*24*time.Hour))
			for i := range 150 {
				h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("8300%04d", i), Name: "Old Friend"}, "price?", now.Add(-time.Duration(8*24*60-i)*time.Minute))
			}
			h.sb.RankComments(post)
			x := h.sb.AddComment(post, sandbox.User{ID: "83990001", Name: "Xena Climber"}, "price?", now.Add(-10*time.Minute))
			h.sb.AddComment(post, sandbox.User{ID: "83990002", Name: "Yann Newest"}, "price?", now.Add(-time.Minute))
			g := &listingGraph{PollGraph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 5 * time.Second}), order: tc.order}
			if tc.moves {
				// After the first page: replies lift X to the top.
				g.after, g.between = 100, func() {
					for j := range 3 {
						h.sb.AddReply(x, sandbox.User{ID: fmt.Sprintf("8398000%d", j), Name: "Ray Reply"}, "price?", time.Now())
					}
				}
			}
			params := h.pollParams(pages)
			params.Graph = g
			pl := worker.NewPoller(params)
			ctx := context.Background()
			for range 2 {
				if _, err := pl.Poll(ctx, page, false); err != nil {
					t.Fatal(err)
				}
			}
			checkQueuedFresh(t, h, page, now)
		})
	}
}

// checkQueuedFresh asserts that exactly the comments of page from the last
// day before now have a reply task.
func checkQueuedFresh(t *testing.T, h *harness, page string, now time.Time) {
	t.Helper()
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	for _, c := range h.sb.AllComments(page) {
		_, err := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+c.ID)
		if want := now.Sub(c.CreatedTime) < 24*time.Hour; want != (err == nil) {
			t.Errorf("comment %s of %s (%s): reply task found %v, want %v", c.ID, c.From.Name, c.CreatedTime.Format(time.DateTime), err == nil, want)
		}
	}
}

// TestPollListingNotNewestFirst: a listing whose summary says newest first
// but which turns out not to be (a newer comment after an older one) is read
// to its end, not stopped at the first comment the last poll saw.
func TestPollListingNotNewestFirst(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 84})
	pages := pollPages(h)
	page := pages[0].ID
	now := time.Now().Add(-time.Minute)
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "post", now.Add(-10*24*time.Hour))
	old := h.sb.AddComment(post, sandbox.User{ID: "84000001", Name: "Old Friend"}, "price?", now.Add(-8*24*time.Hour))
	y := h.sb.AddComment(post, sandbox.User{ID: "84990001", Name: "Yann Seen"}, "price?", now.Add(-time.Minute))
	g := &listingGraph{PollGraph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 5 * time.Second})}
	params := h.pollParams(pages)
	params.Graph = g
	pl := worker.NewPoller(params)
	ctx := context.Background()
	if _, err := pl.Poll(ctx, page, false); err != nil {
		t.Fatal(err)
	}
	z := h.sb.AddComment(post, sandbox.User{ID: "84990002", Name: "Zoe Newest"}, "price?", now)
	v := h.sb.AddComment(post, sandbox.User{ID: "84990003", Name: "Vic Late"}, "price?", now.Add(-90*time.Second))
	// Said to be newest first: the seen comment, the newest, an old one,
	// and last a fresh one.
	g.reorder = func(all []graph.Comment) []graph.Comment {
		byID := map[string]graph.Comment{}
		for _, c := range all {
			byID[c.ID] = c
		}
		return []graph.Comment{byID[y], byID[z], byID[old], byID[v]}
	}
	if _, err := pl.Poll(ctx, page, false); err != nil {
		t.Fatal(err)
	}
	checkQueuedFresh(t, h, page, now)
}

// TestPollConversationAfterInstantReply: Messenger's instant reply (or
// greeting, or away message) comes the moment a person writes, as a Page
// message. It answers nobody: the person still gets their reply. A Page
// message minutes later is an answer, and the poll leaves that person alone.
func TestPollConversationAfterInstantReply(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 85})
	pages := conversationPages(h)
	page := pages[0].ID
	now := time.Now()
	h.sb.AddMessage(page, sandbox.User{ID: "8501", Name: "Ida Instant"}, "hello", now.Add(-2*time.Minute))
	h.sb.AddPageMessage(page, "8501", "Thanks for your message! We reply within a day.", now.Add(-2*time.Minute+time.Second))
	h.sb.AddMessage(page, sandbox.User{ID: "8502", Name: "Hal Answered"}, "hello", now.Add(-10*time.Minute))
	h.sb.AddPageMessage(page, "8502", "Thanks for your message! We reply within a day.", now.Add(-10*time.Minute+time.Second))
	h.sb.AddPageMessage(page, "8502", "Hi Hal, here is what you asked for.", now.Add(-5*time.Minute))
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(context.Background(), page, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued() != 1 || rep.Skipped[intake.SkipOwn] != 1 {
		t.Fatalf("poll: %+v, want Ida's conversation queued and Hal's skipped as answered", rep.Report)
	}
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	for _, c := range h.sb.Conversations(page) {
		last := c.Messages[len(c.Messages)-1]
		for _, m := range c.Messages {
			if !m.FromPage {
				last = m
			}
		}
		_, err := insp.GetTaskInfo(tasks.QueueReplies, "message:"+last.ID)
		if want := c.With.ID == "8501"; want != (err == nil) {
			t.Errorf("conversation with %s: reply task found %v, want %v", c.With.Name, err == nil, want)
		}
	}
}

// TestVisitorPostBehindQuietPosts: scan_posts 24h, max_age 168h, replies to
// posts only. The Page posted 30 times between 25 and 47 hours ago (no
// comments), and a visitor 48 hours ago. A full read (here the first poll,
// which reads everything)
// walks the feed to the end of the visitors' posts' window, past the run of
// quiet posts that ends other polls' walks: before, the walk stopped after 25
// of them and the visitor's post never got its reply.
func TestVisitorPostBehindQuietPosts(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 91})
	pages := postPages(h)
	page := pages[0].ID
	now := time.Now()
	for i := range 30 {
		h.sb.AddPost(page, sandbox.User{ID: page}, "the Page's own", now.Add(-25*time.Hour-time.Duration(i)*40*time.Minute))
	}
	vp := h.sb.AddPost(page, sandbox.User{ID: "9101", Name: "Vera Visitor"}, "do you deliver?", now.Add(-48*time.Hour))
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(context.Background(), page, false)
	if err != nil {
		t.Fatal(err)
	}
	if !queued(t, h, "post:"+vp) {
		t.Errorf("visitor post of 48h ago behind 30 quiet Page posts: no reply task (report %+v)", rep.Report)
	}
}

// TestDryPollLeavesOutReplied: a dry run lists what would get a reply now:
// a comment whose reply was sent (or failed for good) is counted as
// already_replied, not listed.
func TestDryPollLeavesOutReplied(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 76})
	pages := pollPages(h)
	page := pages[0].ID
	pages[0].DefaultText = defaultText
	ctx := context.Background()
	rs := h.addComments(page, 3, "price?")
	if err := h.ledger.MarkSent(ctx, page, rs[0].Target, "m.1"); err != nil {
		t.Fatal(err)
	}
	if err := h.ledger.MarkFailed(ctx, page, rs[1].Target, "test: failed for good"); err != nil {
		t.Fatal(err)
	}
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, true)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range rep.Replies {
		listed[r.Target.ID] = true
	}
	if listed[rs[0].Target.ID] || listed[rs[1].Target.ID] || !listed[rs[2].Target.ID] {
		t.Errorf("dry run lists %v; want %s, not %s nor %s", listed, rs[2].Target.ID, rs[0].Target.ID, rs[1].Target.ID)
	}
	if n := rep.Skipped[intake.SkipAlreadyReplied]; n != 2 {
		t.Errorf("already_replied %d, want 2 (%v)", n, rep.Skipped)
	}
}

// TestPollConversationsIncremental: a poll reads the conversations updated
// since the last one (less the overlap), not the whole messaging window again:
// conversation reads are paced at about 2 a second, and a Page whose every
// poll read 24 hours of conversations would spend them all.
func TestPollConversationsIncremental(t *testing.T) {
	h, pages := earlyWriters(t, 77, 3)
	page := pages[0].ID
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Conversations != 3 || rep.Enqueued() != 3 {
		t.Fatalf("first poll: %d conversations, %d enqueued, %v; want 3, 3", rep.Conversations, rep.Enqueued(), err)
	}
	// The newest conversation seen is inside the overlap: looked at again,
	// the two older ones not.
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Conversations > 1 {
		t.Errorf("second poll, nothing new: looked at %d conversations, %v; want at most the newest one", rep.Conversations, err)
	}
	h.sb.AddMessage(page, sandbox.User{ID: "7710", Name: "Late Writer"}, "hello", time.Now())
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Conversations > 2 || rep.Enqueued() != 1 {
		t.Errorf("third poll, one new: %d conversations, %d enqueued, %v; want at most 2, 1", rep.Conversations, rep.Enqueued(), err)
	}
}

// earlyWriters is a harness whose conversation Page holds n conversations,
// one new person's message each, written n-i hours ago.
func earlyWriters(t *testing.T, seed int64, n int) (*harness, []config.Page) {
	t.Helper()
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	pages := conversationPages(h)
	now := time.Now()
	for i := range n {
		h.sb.AddMessage(pages[0].ID, sandbox.User{ID: fmt.Sprintf("%d0%d", seed, i), Name: "Early Writer"}, "hello", now.Add(-time.Duration(n-i)*time.Hour))
	}
	return h, pages
}

// TestDryPollIgnoresPollState: a dry run walks everything inside the reply
// windows, whatever the Page's polls remember: after a poll, with nothing
// changed since, it still lists the replies that comments would get.
func TestDryPollIgnoresPollState(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 97})
	pages := pollPages(h)
	pages[0].DefaultText = defaultText
	page := pages[0].ID
	h.addComments(page, 3, "")
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	rep, err := pl.Poll(ctx, page, false)
	if err != nil || rep.Enqueued() < 3 {
		t.Fatalf("poll: %d enqueued, %v; want at least 3", rep.Enqueued(), err)
	}
	n := rep.Enqueued()
	dry, err := pl.Poll(ctx, page, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Replies) != n {
		t.Errorf("dry run after a poll lists %d replies, want the %d the poll queued", len(dry.Replies), n)
	}
}

// TestDryPollReadsPastStaleBrokenPause: a dry run tries a config. A Page
// paused page_broken while it had another token is read with the config's
// new one, as a start with this config would lift the pause; the dry run
// says so, and lifts nothing itself.
func TestDryPollReadsPastStaleBrokenPause(t *testing.T) {
	page, p := staleBrokenPause(t, 98)
	ctx := context.Background()
	rep, err := worker.NewPoller(p).Poll(ctx, page, true)
	if err != nil {
		t.Fatal(err)
	}
	if rep.PausedBefore || rep.PauseLiftedAtStart == "" || len(rep.Replies) < 2 {
		t.Errorf("dry run with a new token: paused before %v (%q), lifted at start %q, %d replies; want it read, saying the pause goes at start",
			rep.PausedBefore, rep.Paused, rep.PauseLiftedAtStart, len(rep.Replies))
	}
	if d, reason, err := p.Ledger.Paused(ctx, page); err != nil || d <= 0 || reason != brokenPause {
		t.Errorf("after the dry run: paused %s %q %v; want the pause left in place", d, reason, err)
	}
}

// brokenPause is the reason of staleBrokenPause's pause.
const brokenPause = "page_broken: (#190) Error validating access token"

// staleBrokenPause returns a harness Page with two comments to answer,
// paused page_broken while it had another token, and the poll params of a
// dry run with the config's new token.
func staleBrokenPause(t *testing.T, seed int64) (string, worker.PollParams) {
	t.Helper()
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	pages := pollPages(h)
	pages[0].DefaultText = defaultText
	page := pages[0].ID
	h.addComments(page, 2, "")
	old := tasks.NewLedger(h.db.Client, tasks.LedgerOptions{PageTokens: map[string]string{page: "EAABoldtokenoldtokenoldtoken"}})
	if set, err := old.Pause(context.Background(), page, 5*time.Minute, brokenPause); err != nil || !set {
		t.Fatalf("pause = %v, %v", set, err)
	}
	p := h.pollParams(pages)
	p.Ledger = tasks.NewLedger(h.db.Client, tasks.LedgerOptions{PageTokens: map[string]string{page: pages[0].AccessToken}})
	return page, p
}

// slowCommentPages is a harness whose Page reads at rate, with one post whose
// comments fill n pages of the listing: the newest n-1 pages hidden comments
// (empty pages), the last 10 comments to answer. Its comment reads go
// through calls, which keeps their times.
func slowCommentPages(t *testing.T, seed int64, rate config.Rate, n int) (*harness, []config.Page, *callLog) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 1, Seed: seed})
	pages := pollPages(h)
	pages[0].Rate, pages[0].Burst = rate, 1
	post := h.sb.Posts(pages[0].ID)[0].ID
	total := (n-1)*100 + 10
	now := time.Now()
	for i := range total {
		id := h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("%d%04d", seed, i), Name: "Paced Friend"}, "price?", now.Add(-time.Duration(total-i)*time.Second))
		if i >= 10 {
			h.sb.HideComment(id)
		}
	}
	calls := &callLog{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/comments") {
			calls.mu.Lock()
			calls.at = append(calls.at, time.Now())
			calls.mu.Unlock()
		}
		h.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	calls.url = srv.URL
	return h, pages, calls
}

// callLog is the sandbox behind url, with the times of its comment reads.
type callLog struct {
	url string
	mu  sync.Mutex
	at  []time.Time
}

func (c *callLog) times() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.at)
}
