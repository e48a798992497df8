package worker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

const noReplyLine = "no comment can be answered privately"

// noReplyLines returns the level and comments count of each noReplyLine
// logged to logs from its byte from on, and the end of what it read.
func noReplyLines(t *testing.T, logs *lockedBuffer, from int) (lines []string, end int) {
	t.Helper()
	logs.mu.Lock()
	all := logs.b.String()
	logs.mu.Unlock()
	for _, l := range strings.Split(all[from:], "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(l), &e) != nil || !strings.HasPrefix(e["msg"].(string), noReplyLine) {
			continue
		}
		if e["level"] == "WARN" {
			h, _ := e["hint"].(string)
			for _, w := range []string{"pages_messaging", "messaging is on for the Page", "published", "development mode"} {
				if !strings.Contains(h, w) {
					t.Errorf("WARN hint %q does not name %q", h, w)
				}
			}
		}
		lines = append(lines, e["level"].(string)+" "+strconv.Itoa(int(e["comments"].(float64))))
	}
	return lines, len(all)
}

// TestPollSaysWhenNoCommentCanBeAnswered: a Page whose comments inside the
// reply window Graph all lists with can_reply_privately false (a token
// without pages_messaging, messaging off for the Page: Graph answers false,
// not an error) is said at WARN once per process, with what to check; again
// at DEBUG; said at WARN again after a poll found a comment it may answer.
// Fewer than 10 such comments, comments outside the window, and comments
// pagereply answered before (a fully answered Page, should Graph turn their
// can_reply_privately false) are not taken for it.
func TestPollSaysWhenNoCommentCanBeAnswered(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1308})
	page := pollPages(h)[0]
	page.ReplyTo = []string{config.ReplyComments}
	page.Rules, page.DefaultText = nil, "Thanks!"
	var logs lockedBuffer
	p := h.pollParams([]config.Page{page})
	p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pl := worker.NewPoller(p)
	ctx := context.Background()
	postsKey, _ := worker.PollStateKeys(h.ledger, page.ID)
	// forgetState makes the next poll read every comment again (as a full
	// read does).
	forgetState := func() {
		if err := h.ledger.Client().Del(ctx, postsKey).Err(); err != nil {
			t.Fatal(err)
		}
	}
	poll := func(step string, want ...string) {
		t.Helper()
		_, from := noReplyLines(t, &logs, 0)
		rep, err := pl.Poll(ctx, page.ID, false)
		if err != nil {
			t.Fatalf("%s: poll: %v", step, err)
		}
		got, _ := noReplyLines(t, &logs, from)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: lines %q, want %q (skipped %v, outcomes %v)", step, got, want, rep.Skipped, rep.Outcomes)
		}
	}
	post := h.sb.AddPost(page.ID, sandbox.User{ID: page.ID}, "A post", time.Now().Add(-10*24*time.Hour))
	add := func(n, base int, at time.Time, canReply bool) []string {
		var ids []string
		for i := range n {
			id := h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(base + i), Name: "Ada Visitor"}, "hello", at)
			h.sb.SetCanReplyPrivately(id, canReply)
			ids = append(ids, id)
		}
		return ids
	}
	// 9 inside the window and 12 older than it, none answerable: no line.
	add(12, 7100000, time.Now().Add(-8*24*time.Hour), false)
	add(9, 7200000, time.Now().Add(-time.Hour), false)
	poll("9 inside the window")
	// A tenth: WARN, naming 10.
	add(1, 7300000, time.Now().Add(-time.Minute), false)
	forgetState()
	poll("10 inside the window", "WARN 10")
	// Said once per process: DEBUG at the next poll that reads them.
	forgetState()
	poll("again", "DEBUG 10")
	// A comment Graph lets the Page answer: no line, and forgotten.
	open := add(1, 7400000, time.Now(), true)
	poll("one replyable")
	// Graph turning it false too: said at WARN again, with it (queued, not
	// sent: the ledger has no reply for it).
	h.sb.SetCanReplyPrivately(open[0], false)
	forgetState()
	poll("back to none", "WARN 11")

	// A fully answered Page: every comment sent, then Graph lists them all
	// false. Not said.
	h2 := newHarness(t, sandbox.Options{Pages: 1, Seed: 1309})
	page2 := pollPages(h2)[0]
	page2.ReplyTo = []string{config.ReplyComments}
	page2.Rules, page2.DefaultText = nil, "Thanks!"
	rs := h2.addComments(page2.ID, 12, "Thanks!")
	p2 := h2.pollParams([]config.Page{page2})
	var logs2 lockedBuffer
	p2.Logger = slog.New(slog.NewJSONHandler(&logs2, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pl2 := worker.NewPoller(p2)
	if _, err := pl2.Poll(ctx, page2.ID, false); err != nil {
		t.Fatal(err)
	}
	h2.startWorker(t, 4)
	h2.waitSent(t, rs, 30*time.Second)
	for _, r := range rs {
		h2.sb.SetCanReplyPrivately(r.Target.ID, false)
	}
	key2, _ := worker.PollStateKeys(h2.ledger, page2.ID)
	if err := h2.ledger.Client().Del(ctx, key2).Err(); err != nil {
		t.Fatal(err)
	}
	rep, err := pl2.Poll(ctx, page2.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Skipped["cannot_reply"] != 12 {
		t.Errorf("answered Page: skipped %v, want 12 cannot_reply", rep.Skipped)
	}
	if got, _ := noReplyLines(t, &logs2, 0); len(got) != 0 {
		t.Errorf("answered Page: lines %q, want none", got)
	}
}
