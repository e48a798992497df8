package worker_test

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestPollReadsAllAfterSettingsChange: comments a poll skipped because no
// rule matched them get their reply once a default_text is added, although
// their posts have not changed since: the poll reads everything again when
// the Page's reply settings differ from its last poll's. The poll after that
// reads only what changed again.
func TestPollReadsAllAfterSettingsChange(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 4, Comments: 10, Seed: 61})
	page := pollPages(h)[0]
	page.Rules = []config.Rule{{Match: "(?i)zzzzqqq", Text: "never"}}
	page.DefaultText = ""
	ctx := context.Background()
	poll := func(pg config.Page, dry bool) worker.PollReport {
		t.Helper()
		pages := []config.Page{pg}
		pp := h.pollParams(pages)
		// The seed has comments of the last minute: their posts are read
		// again until a poll reads them a minute after them.
		pp.UnchangedAfter = 2 * time.Second
		rep, err := worker.NewPoller(pp).Poll(ctx, pg.ID, dry)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := poll(page, false); rep.Enqueued() != 0 || rep.FullRead != "" {
		t.Fatalf("first poll with no matching rule: %d enqueued, full read %q", rep.Enqueued(), rep.FullRead)
	}
	page.DefaultText = "Thanks, {{.FirstName}}!"
	want := len(poll(page, true).Replies)
	if want == 0 {
		t.Fatal("the dry run with a default_text finds nothing to reply to")
	}
	rep := poll(page, false)
	if rep.Enqueued() != want || !strings.Contains(rep.FullRead, "settings changed") {
		t.Fatalf("poll after adding default_text: %d enqueued (dry run: %d), full read %q, unchanged %d",
			rep.Enqueued(), want, rep.FullRead, rep.Unchanged)
	}
	if rep := poll(page, false); rep.FullRead != "" || rep.CommentReads != 0 || rep.Enqueued() != 0 {
		t.Fatalf("next poll: full read %q, %d comment reads, %d enqueued; want only what changed (nothing)", rep.FullRead, rep.CommentReads, rep.Enqueued())
	}
}

// TestPollFindsLostRepliesAtFullRead: replies whose tasks were lost after the
// poll saved its state (a Redis Cluster failover of the queue's shard) are
// queued again by the next full read, due every fullReadEvery; the polls in
// between read only what changed.
func TestPollFindsLostRepliesAtFullRead(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 4, Comments: 10, Seed: 67})
	pages := pollPages(h)
	page := pages[0]
	ctx := context.Background()
	pl := worker.NewPoller(h.pollParams(pages))
	rep, err := pl.Poll(ctx, page.ID, false)
	if err != nil || rep.Enqueued() == 0 {
		t.Fatalf("first poll: %d enqueued, %v", rep.Enqueued(), err)
	}
	n := rep.Enqueued()
	// The queue is lost; the poll's state and the ledger are not.
	keys, err := h.db.Client.Keys(ctx, "asynq:{"+tasks.QueueReplies+"}*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("queue keys %v %v", keys, err)
	}
	if err := h.db.Client.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	if rep, err := pl.Poll(ctx, page.ID, false); err != nil || rep.Enqueued() != 0 || rep.FullRead != "" {
		t.Fatalf("poll before a full read is due: %d enqueued, full read %q, %v", rep.Enqueued(), rep.FullRead, err)
	}
	// The last full read, a day ago: one is due.
	postsKey := h.ledger.PageKey(page.ID, "posts")
	if err := h.db.Client.HSet(ctx, postsKey, "_full", strconv.FormatInt(time.Now().Add(-24*time.Hour).Unix(), 10)).Err(); err != nil {
		t.Fatal(err)
	}
	rep, err = pl.Poll(ctx, page.ID, false)
	if err != nil || rep.Enqueued() != n || !strings.Contains(rep.FullRead, "full read") {
		t.Fatalf("full read: %d enqueued of %d lost, full read %q, %v", rep.Enqueued(), n, rep.FullRead, err)
	}
	if rep, err := pl.Poll(ctx, page.ID, false); err != nil || rep.FullRead != "" || rep.Enqueued() != 0 {
		t.Fatalf("poll after the full read: full read %q, %d enqueued, %v", rep.FullRead, rep.Enqueued(), err)
	}
}

// TestConversationsOnlyPageGetsFullReads: a Page that replies to
// conversations only keeps no post state, and still gets its full read every
// fullReadEvery (6 h here), by its own clock.
func TestConversationsOnlyPageGetsFullReads(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 5, Seed: 21})
	pages := conversationPages(h)
	page := pages[0].ID
	clock := time.Now()
	p := h.pollParams(pages)
	p.Now = func() time.Time { return clock }
	pl := worker.NewPoller(p)
	ctx := context.Background()
	for i, step := range []time.Duration{0, 5 * time.Hour, 5 * time.Hour, 5 * time.Hour} {
		clock = clock.Add(step)
		rep, err := pl.Poll(ctx, page, false)
		if err != nil {
			t.Fatal(err)
		}
		// The first poll reads everything anyway; at +10 h a full read is
		// due (6 h), and at +15 h, 5 h after it, not yet.
		if want := i == 2; (rep.FullRead != "") != want {
			t.Errorf("poll %d at %d h: full read %q, want one: %v", i, 5*i, rep.FullRead, want)
		}
	}
}

// failingConversations is the real client, except that while fail is set
// every conversations read fails as Meta's /conversations with nested
// messages often does: code 1 ("Please reduce the amount of data you're
// asking for"), a transient error.
type failingConversations struct {
	*graph.Client
	fail *atomic.Bool
}

func (f failingConversations) Conversations(ctx context.Context, token, pageID string) iter.Seq2[graph.Conversation, error] {
	if !f.fail.Load() {
		return f.Client.Conversations(ctx, token, pageID)
	}
	return func(yield func(graph.Conversation, error) bool) {
		yield(graph.Conversation{}, &graph.Error{HTTPStatus: 500, Code: 1, Message: "Please reduce the amount of data you're asking for, then retry your request",
			Class: graph.ClassTransient, Endpoint: "conversations"})
	}
}

// TestConversationFailureKeepsFeedReadsIncremental: a Page whose conversations
// read keeps failing still has its feed's full read recorded, so the polls
// after it read only the posts that changed, not every post's comments again
// (Graph calls by the hundred, every slot: a throttled Page). A full read
// whose conversations part failed is finished by the next poll, which reads
// every conversation inside the window.
func TestConversationFailureKeepsFeedReadsIncremental(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 12, Seed: 77})
	pages := pollPages(h)
	pages[0].ReplyTo = []string{config.ReplyComments, config.ReplyConversations}
	page := pages[0].ID
	const posts = 20
	for i := range posts {
		p := h.sb.AddPost(page, sandbox.User{ID: page}, "post", time.Now().Add(-time.Duration(i+2)*time.Hour))
		h.sb.AddComment(p, sandbox.User{ID: fmt.Sprintf("77%04d", i), Name: "Ann"}, "price?", time.Now().Add(-time.Duration(i+1)*time.Hour))
	}
	fail := new(atomic.Bool)
	fail.Store(true)
	pp := h.pollParams(pages)
	pp.Graph = failingConversations{graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 5 * time.Second}), fail}
	pl := worker.NewPoller(pp)
	ctx := context.Background()
	if _, err := pl.Poll(ctx, page, false); err == nil {
		t.Fatal("first poll: want the conversations error")
	}
	time.Sleep(2100 * time.Millisecond) // past unchangedAfter
	for i := range 2 {
		before := h.sb.Calls()[sandbox.EndpointComments]
		rep, _ := pl.Poll(ctx, page, false)
		if n := h.sb.Calls()[sandbox.EndpointComments] - before; n != 0 || rep.FullRead != "" {
			t.Errorf("poll %d: nothing changed on the feed, yet %d comment reads (full read: %q)", i+2, n, rep.FullRead)
		}
	}
	// The conversations work again: all of them are read, then only what
	// changed.
	fail.Store(false)
	rep, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	all := rep.Conversations
	if all == 0 {
		t.Fatal("no conversation inside the window: nothing to test")
	}
	// A settings change: a full read, whose conversations part fails.
	pages[0].MaxAge = 100 * time.Hour
	fail.Store(true)
	if rep, err := worker.NewPoller(pp).Poll(ctx, page, false); err == nil || rep.FullRead == "" {
		t.Fatalf("full read with failing conversations: %q %v, want a full read failing", rep.FullRead, err)
	}
	fail.Store(false)
	rep, err = worker.NewPoller(pp).Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.FullRead != "" || rep.Conversations != all {
		t.Errorf("poll after the failed full read: full read %q, %d conversations looked at, want an incremental poll reading all %d", rep.FullRead, rep.Conversations, all)
	}
}

// TestFullReadAfterClockAhead: one poll ran on a host whose clock was a year
// ahead (a VM booted before NTP stepped its clock) and recorded its full read
// a year on. A poll on a right clock reads everything again, saying why,
// instead of taking that record at its word: before, no full read came for a
// year, and the replies they recover (lost with a failover of Redis, archived
// after their retries) were never queued again.
func TestFullReadAfterClockAhead(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 3, Seed: 67})
	pages := pollPages(h)
	page := pages[0]
	ctx := context.Background()
	ahead := h.pollParams(pages)
	ahead.Now = func() time.Time { return time.Now().Add(365 * 24 * time.Hour) }
	if _, err := worker.NewPoller(ahead).Poll(ctx, page.ID, false); err != nil {
		t.Fatal(err)
	}
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.FullRead, "ahead of this host's clock") {
		t.Fatalf("the poll on a right clock: full read %q, want one for the record a year ahead", rep.FullRead)
	}
	// Recorded now, the next poll reads only what changed.
	if rep, err = worker.NewPoller(h.pollParams(pages)).Poll(ctx, page.ID, false); err != nil || rep.FullRead != "" {
		t.Fatalf("the poll after: full read %q (%v), want none", rep.FullRead, err)
	}
}
