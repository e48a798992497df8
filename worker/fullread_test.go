package worker_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
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
		rep, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, pg.ID, dry)
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
