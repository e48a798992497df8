package worker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// queued reports whether target has a reply task in the replies queue.
func queued(t *testing.T, h *harness, target string) bool {
	t.Helper()
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	_, err := insp.GetTaskInfo(tasks.QueueReplies, target)
	if err == nil {
		return true
	}
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return false
	}
	t.Fatal(err)
	return false
}

// failingGraph answers code 1 (HTTP 500, "an unknown error") to every read
// whose path fail picks, and sends the rest to the sandbox.
func failingGraph(t *testing.T, h *harness, fail func(path string) bool) (*graph.Client, *atomic.Int32) {
	var failed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail(r.URL.Path) {
			failed.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1,"is_transient":true,"fbtrace_id":"AbC"}}`)
			return
		}
		h.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second}), &failed
}

// TestPollSkipsPostThatKeepsFailing: Graph can keep failing the comments of
// one object with a transient error, read after read. That post is skipped
// for this poll (not marked read, so the next poll reads it again), and the
// Page's other posts and its conversations are read: before, the whole poll
// failed at that post, slot after slot, and nothing after it was ever read.
// When several posts in a row fail so, Graph is failing, not one post: the
// poll fails, and the conversations are still read.
func TestPollSkipsPostThatKeepsFailing(t *testing.T) {
	t.Parallel() // mostly waits out read retries
	for _, tc := range []struct {
		name    string
		bad     int // newest posts whose comments fail
		wantErr bool
	}{
		{name: "one post", bad: 1},
		{name: "every post", bad: 4, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 4343})
			pages := pollPages(h)
			pages[0].ReplyTo = []string{config.ReplyComments, config.ReplyConversations}
			page := pages[0].ID
			now := time.Now()
			good := h.sb.AddPost(page, sandbox.User{ID: page}, "older post", now.Add(-5*time.Hour))
			goodComment := h.sb.AddComment(good, sandbox.User{ID: "62000001", Name: "Friend"}, "price?", now.Add(-time.Minute))
			bad := map[string]bool{}
			for i := range tc.bad {
				p := h.sb.AddPost(page, sandbox.User{ID: page}, "newer post", now.Add(-time.Duration(4-i)*time.Hour))
				h.sb.AddComment(p, sandbox.User{ID: fmt.Sprintf("6200010%d", i), Name: "Other"}, "price?", now.Add(-time.Minute))
				bad[p] = true
			}
			_, msg := h.sb.AddMessage(page, sandbox.User{ID: "62000003", Name: "Writer"}, "price?", now.Add(-time.Minute))
			p := h.pollParams(pages)
			var failed *atomic.Int32
			p.Graph, failed = failingGraph(t, h, func(path string) bool { return commentReadOf(path, bad) })
			rep, err := worker.NewPoller(p).Poll(context.Background(), page, false)
			t.Logf("posts %d, unreadable %d, enqueued %d, failed reads %d, err %v", rep.Posts, rep.Unreadable, rep.Enqueued(), failed.Load(), err)
			if (err != nil) != tc.wantErr {
				t.Fatalf("poll error %v, want one: %v", err, tc.wantErr)
			}
			if !queued(t, h, "message:"+msg) {
				t.Error("the conversation's message was not queued")
			}
			if got := queued(t, h, "comment:"+goodComment); got == tc.wantErr {
				t.Errorf("the older post's comment queued: %v", got)
			}
			if !tc.wantErr && rep.Unreadable != 1 {
				t.Errorf("unreadable %d, want 1", rep.Unreadable)
			}
		})
	}
}

// TestPollPastThreeFailingPosts: the three newest posts of a Page are ones
// whose comments Graph keeps failing with a transient error (code 1 on one
// object, read after read). Before, every poll skipped two, failed on the
// third as if Graph itself were failing, and never reached the older posts:
// a fresh comment on yesterday's post never got its reply, slot after slot,
// for as long as the three stayed in the feed (30 days of scan_posts), and
// every poll was a full read, as none completed. Posts that failed at the
// last poll too are now skipped without counting toward the row, and are
// still read at every poll.
func TestPollPastThreeFailingPosts(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 93})
	pages := pollPages(h)
	pages[0].ReplyTo = []string{config.ReplyComments}
	page := pages[0].ID
	now := time.Now()
	older := h.sb.AddPost(page, sandbox.User{ID: page}, "yesterday", now.Add(-24*time.Hour))
	fresh := h.sb.AddComment(older, sandbox.User{ID: "9301", Name: "Ann Fresh"}, "price?", now.Add(-time.Minute))
	bad := map[string]*atomic.Bool{}
	for i := range 3 {
		bad[h.sb.AddPost(page, sandbox.User{ID: page}, "live video", now.Add(-time.Duration(3-i)*time.Hour))] = new(atomic.Bool)
	}
	for _, b := range bad {
		b.Store(true)
	}
	p := h.pollParams(pages)
	var failed *atomic.Int32
	p.Graph, failed = failingGraph(t, h, func(path string) bool {
		for id, b := range bad {
			if b.Load() && strings.Contains(path, id) && strings.HasSuffix(path, "/comments") {
				return true
			}
		}
		return false
	})
	pl := worker.NewPoller(p)
	ctx := context.Background()
	// The first poll cannot tell these posts from Graph failing.
	if rep, err := pl.Poll(ctx, page, false); err == nil {
		t.Fatalf("first poll: posts %d, unreadable %d, no error: want the third failing post to fail it", rep.Posts, rep.Unreadable)
	}
	for i := 2; i <= 3; i++ {
		before := failed.Load()
		rep, err := pl.Poll(ctx, page, false)
		if err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
		if rep.Unreadable != 3 || failed.Load()-before != 3 {
			t.Errorf("poll %d: unreadable %d, failing reads %d, want each failing post skipped and read again once", i, rep.Unreadable, failed.Load()-before)
		}
	}
	if !queued(t, h, "comment:"+fresh) {
		t.Error("fresh comment on an older post behind three failing posts: no reply task")
	}
	// Once one of them can be read again, it is read as any other post.
	for _, b := range bad {
		b.Store(false)
		break
	}
	before := failed.Load()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Unreadable != 2 || failed.Load()-before != 2 {
		t.Errorf("poll after one post recovered: unreadable %d, failing reads %d, err %v; want 2, 2, none", rep.Unreadable, failed.Load()-before, err)
	}
}

// TestFailedFeedStillReadsConversations: a feed that Graph keeps failing
// fails the poll (its post states unsaved), but the Page's conversations,
// another listing, are read all the same.
func TestFailedFeedStillReadsConversations(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 4545})
	pages := pollPages(h)
	pages[0].ReplyTo = []string{config.ReplyComments, config.ReplyConversations}
	page := pages[0].ID
	_, msg := h.sb.AddMessage(page, sandbox.User{ID: "62000004", Name: "Writer"}, "price?", time.Now().Add(-time.Minute))
	p := h.pollParams(pages)
	p.Graph, _ = failingGraph(t, h, func(path string) bool { return strings.HasSuffix(path, "/feed") })
	_, err := worker.NewPoller(p).Poll(context.Background(), page, false)
	if err == nil || graph.ClassOf(err) != graph.ClassTransient {
		t.Fatalf("poll error %v, want the feed's transient error", err)
	}
	if !queued(t, h, "message:"+msg) {
		t.Error("the conversation's message was not queued")
	}
}

// TestPollCutShortQueuesWhatItFound: a poll whose context ends mid-walk
// (asynq's deadline, a stopping worker) still queues the replies it had
// found; before, the flush ran on the ended context and dropped them all.
func TestPollCutShortQueuesWhatItFound(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 4646})
	pages := pollPages(h)
	pages[0].Rate = config.Rate{N: 20, Per: time.Second}
	page := pages[0].ID
	now := time.Now()
	for i := range 60 {
		post := h.sb.AddPost(page, sandbox.User{ID: page}, "post", now.Add(-time.Duration(60-i)*time.Hour))
		h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("6300%04d", i), Name: "Friend"}, "price?", now.Add(-time.Duration(60-i)*time.Second))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, false)
	if err == nil {
		t.Fatal("the poll was not cut short; give it more posts")
	}
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	pending, lerr := insp.ListPendingTasks(tasks.QueueReplies, asynq.PageSize(1000))
	if lerr != nil && !errors.Is(lerr, asynq.ErrQueueNotFound) {
		t.Fatal(lerr)
	}
	t.Logf("cut after %d posts: %d replies queued (%v)", rep.Posts, len(pending), err)
	if len(pending) == 0 || len(pending) >= 60 {
		t.Errorf("%d replies queued after a poll cut at post %d, want those it had found", len(pending), rep.Posts)
	}
}

// TestPollReadsPastUnreadableComment: Graph lists one comment of a post in
// another shape than the rest (can_reply_privately as a string). It is
// skipped as malformed and its post's other comments, on its page of the
// listing and on the pages after, get their replies: before, the whole post
// was unreadable at every poll for as long as Graph listed that comment. It
// is one item seen and skipped, and one WARN that names it and its post (an
// operator must be able to find a reply that may be missed), also when the
// listing's second page fails once with a transient error and the walk reads
// the listing again from its start: that had counted it once per read.
func TestPollReadsPastUnreadableComment(t *testing.T) {
	for _, tc := range []struct {
		name           string
		seed           int64
		failSecondPage bool
	}{
		{name: "one read", seed: 4344},
		{name: "read again after a transient error", seed: 4345, failSecondPage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: tc.seed})
			pages := pollPages(h)
			pages[0].ReplyTo = []string{config.ReplyComments}
			page := pages[0].ID
			now := time.Now()
			post := h.sb.AddPost(page, sandbox.User{ID: page}, "a post", now.Add(-time.Hour))
			var comments []string
			for i := range 150 { // two pages of the listing (100 a page)
				comments = append(comments, h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("%d%04d", tc.seed, i), Name: "Fan"}, "price?",
					now.Add(-time.Duration(150-i)*time.Second)))
			}
			odd := comments[140] // newest first: on the first page
			var failed atomic.Bool
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if !strings.HasSuffix(r.URL.Path, "/comments") {
					h.sb.ServeHTTP(w, r)
					return
				}
				if tc.failSecondPage && r.URL.Query().Get("after") != "" && failed.CompareAndSwap(false, true) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusInternalServerError)
					fmt.Fprint(w, `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","is_transient":true,"code":2}}`)
					return
				}
				rec := httptest.NewRecorder()
				h.sb.ServeHTTP(rec, r)
				body := rec.Body.String()
				if i := strings.Index(body, `"id":"`+odd+`"`); i >= 0 {
					end := i + strings.Index(body[i:], "}")
					body = body[:i] + strings.Replace(body[i:end], `"can_reply_privately":true`, `"can_reply_privately":"true"`, 1) + body[end:]
				}
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.Header().Del("Content-Length")
				w.WriteHeader(rec.Code)
				fmt.Fprint(w, body)
			}))
			t.Cleanup(srv.Close)
			var logs proctest.Buffer
			p := h.pollParams(pages)
			p.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
			p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			poller := worker.NewPoller(p)
			rep, err := poller.Poll(context.Background(), page, false)
			if err != nil {
				t.Fatalf("poll: %v", err)
			}
			if tc.failSecondPage && !failed.Load() {
				t.Fatal("the listing's second page never failed: the test tests nothing")
			}
			if rep.Skipped["malformed"] != 1 || rep.Unreadable != 0 || rep.Seen != len(comments) {
				t.Errorf("skipped %v, unreadable posts %d, seen %d; want the one comment skipped as malformed once, no post unreadable and %d items seen",
					rep.Skipped, rep.Unreadable, rep.Seen, len(comments))
			}
			skippedLines := func(text, level string) int {
				t.Helper()
				n := 0
				for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
					if strings.Contains(line, "cannot be read; skipped") && strings.Contains(line, `"level":"`+level+`"`) {
						n++
						if !strings.Contains(line, post) || !strings.Contains(line, odd) {
							t.Errorf("the line does not name the post %s and the comment %s left out: %s", post, odd, line)
						}
					}
				}
				return n
			}
			if n := skippedLines(logs.String(), "WARN"); n != 1 {
				t.Errorf("%d WARN lines for the skipped comment, want 1:\n%s", n, logs.String())
			}
			for _, c := range comments {
				if got := queued(t, h, "comment:"+c); got == (c == odd) {
					t.Errorf("comment %s queued: %v", c, got)
				}
			}
			// A later poll that lists the comment again skips it again, and
			// says so at DEBUG: the WARN was said once.
			before := len(logs.String())
			h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("%d9999", tc.seed), Name: "Fan"}, "price?", time.Now())
			rep, err = poller.Poll(context.Background(), page, false)
			if err != nil {
				t.Fatalf("second poll: %v", err)
			}
			if rep.Skipped["malformed"] != 1 {
				t.Errorf("second poll skipped %v, want the comment skipped as malformed again", rep.Skipped)
			}
			second := logs.String()[before:]
			if warn, debug := skippedLines(second, "WARN"), skippedLines(second, "DEBUG"); warn != 0 || debug != 1 {
				t.Errorf("second poll: %d WARN and %d DEBUG lines for the skipped comment, want 0 and 1:\n%s", warn, debug, second)
			}
		})
	}
}

// TestFailingPostsNotInARow: maxFailingInRow counts posts in a row whose
// comments keep failing; a post read between them ends the row. Three such
// posts with good ones between them are each skipped, and the poll goes on
// to the older posts behind them.
func TestFailingPostsNotInARow(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 94})
	pages := pollPages(h)
	pages[0].ReplyTo = []string{config.ReplyComments}
	page := pages[0].ID
	now := time.Now()
	older := h.sb.AddPost(page, sandbox.User{ID: page}, "yesterday", now.Add(-24*time.Hour))
	fresh := h.sb.AddComment(older, sandbox.User{ID: "9401", Name: "Ann Fresh"}, "price?", now.Add(-time.Minute))
	bad := map[string]bool{}
	for i := range 5 {
		post := h.sb.AddPost(page, sandbox.User{ID: page}, "post", now.Add(-time.Duration(5-i)*time.Hour))
		if i%2 == 0 { // the newest, the third and the fifth
			bad[post] = true
		}
	}
	p := h.pollParams(pages)
	p.Graph, _ = failingGraph(t, h, func(path string) bool { return commentReadOf(path, bad) })
	rep, err := worker.NewPoller(p).Poll(context.Background(), page, false)
	if err != nil {
		t.Fatalf("poll: %v (unreadable %d): three failing posts, none next to another, failed it", err, rep.Unreadable)
	}
	if rep.Unreadable != 3 {
		t.Errorf("unreadable %d, want 3", rep.Unreadable)
	}
	if !queued(t, h, "comment:"+fresh) {
		t.Error("fresh comment on an older post behind the failing ones: no reply task")
	}
}

// TestFullReadOfFailingPostReadLater: a full read finds again the replies
// lost since the last one (a queue lost after the poll saved its state). A
// post whose comments keep failing at that full read is read as the full read
// would have read it once it works again: its remembered state is forgotten,
// also when its reads failed at an earlier poll already, so a comment older
// than its newest one seen, whose task was lost, is still queued again.
func TestFullReadOfFailingPostReadLater(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	var fail atomic.Bool
	h, page, post, pl := postPoller(t, 95, func() bool { return fail.Load() })
	now := time.Now()
	older := h.sb.AddComment(post, sandbox.User{ID: "9501", Name: "Ann Older"}, "hello", now.Add(-30*time.Minute))
	h.sb.AddComment(post, sandbox.User{ID: "9502", Name: "Bea Newer"}, "hello", now.Add(-10*time.Minute))
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 2 {
		t.Fatalf("first poll: %d enqueued, %v; want 2", rep.Enqueued(), err)
	}
	// A new comment; the post's comments fail from now on.
	fail.Store(true)
	h.sb.AddComment(post, sandbox.User{ID: "9503", Name: "Cid Latest"}, "hello", time.Now())
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Unreadable != 1 {
		t.Fatalf("second poll: unreadable %d, %v; want the post skipped", rep.Unreadable, err)
	}
	// The queue is lost; the poll's state and the ledger are not.
	keys, err := h.db.Client.Keys(ctx, "asynq:{"+tasks.QueueReplies+"}*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("queue keys %v %v", keys, err)
	}
	if err := h.db.Client.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	// The last full read, a day ago: one is due, and the post still fails.
	if err := h.db.Client.HSet(ctx, h.ledger.PageKey(page, "posts"), "_full", strconv.FormatInt(time.Now().Add(-24*time.Hour).Unix(), 10)).Err(); err != nil {
		t.Fatal(err)
	}
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.FullRead == "" || rep.Unreadable != 1 {
		t.Fatalf("full read: full read %q, unreadable %d, %v; want a full read with the post skipped", rep.FullRead, rep.Unreadable, err)
	}
	// It works again, at a poll that is no full read.
	fail.Store(false)
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.FullRead != "" {
		t.Fatalf("poll after the full read: full read %q, %v", rep.FullRead, err)
	}
	if !queued(t, h, "comment:"+older) {
		t.Error("comment older than the newest seen, its task lost: not queued again once its post could be read after the full read")
	}
}

// TestRecoveredPostGetsItsRetries: a post whose comments kept failing at one
// poll, and were read at a later one, is a post like any other again: a
// single transient failure of it later is read again within the poll (its
// retries), not taken for the post failing still and skipped until the next
// poll.
func TestRecoveredPostGetsItsRetries(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	var failAll atomic.Bool
	var failNext atomic.Int32
	h, page, post, pl := postPoller(t, 96, func() bool { return failAll.Load() || failNext.Add(-1) >= 0 })
	h.sb.AddComment(post, sandbox.User{ID: "9601", Name: "Ann First"}, "hello", time.Now().Add(-10*time.Minute))
	ctx := context.Background()
	failAll.Store(true)
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Unreadable != 1 {
		t.Fatalf("first poll: unreadable %d, %v; want the post skipped", rep.Unreadable, err)
	}
	failAll.Store(false)
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Unreadable != 0 || rep.Enqueued() != 1 {
		t.Fatalf("second poll: unreadable %d, %d enqueued, %v; want the post read", rep.Unreadable, rep.Enqueued(), err)
	}
	late := h.sb.AddComment(post, sandbox.User{ID: "9602", Name: "Bea Later"}, "hello", time.Now())
	failNext.Store(1)
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Unreadable != 0 {
		t.Fatalf("third poll, one transient failure: unreadable %d, %v; want the post read again within the poll", rep.Unreadable, err)
	}
	if !queued(t, h, "comment:"+late) {
		t.Error("new comment of the recovered post: no reply task")
	}
}

// postPoller is a poller of a Page that answers comments, with one post of
// its own of two hours ago, whose comment reads fail while fail says so
// (asked once per read of them).
func postPoller(t *testing.T, seed int64, fail func() bool) (h *harness, page, post string, pl *worker.Poller) {
	h = newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	pages := commentPages(h)
	page = pages[0].ID
	post = h.sb.AddPost(page, sandbox.User{ID: page}, "news", time.Now().Add(-2*time.Hour))
	p := h.pollParams(pages)
	p.Graph, _ = failingGraph(t, h, func(path string) bool {
		return commentReadOf(path, map[string]bool{post: true}) && fail()
	})
	return h, page, post, worker.NewPoller(p)
}

// commentReadOf reports whether path reads the comments of one of posts.
func commentReadOf(path string, posts map[string]bool) bool {
	if !strings.HasSuffix(path, "/comments") {
		return false
	}
	for id := range posts {
		if strings.Contains(path, id) {
			return true
		}
	}
	return false
}
