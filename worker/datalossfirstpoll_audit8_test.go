package worker_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// lockedBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

const noStateLine = "no poll state in Redis"

// TestRedisDataLossSaysSoAndSendsNothingTwice is the data-loss drill
// (deploy/README.md, Redis): a Page's first poll says at INFO that it reads
// everything for want of a poll state, once (not at the polls after it);
// after Redis lost every key (FLUSHDB: no persistence, a lost volume) the
// next poll says so again and queues every eligible comment again; the worker
// sends none of them twice: Graph refuses each answered one as already
// replied (10900), recorded as sent.
func TestRedisDataLossSaysSoAndSendsNothingTwice(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 4, Comments: 10, Seed: 83})
	pages := commentPages(h)
	page := pages[0]
	var want []expectation
	for _, c := range h.sb.AllComments(page.ID) {
		if !c.FromPage && c.CanReplyPrivately && time.Since(c.CreatedTime) < 7*24*time.Hour {
			want = append(want, expectation{page.ID, c.ID, ""})
		}
	}
	if len(want) < 10 {
		t.Fatalf("sandbox mix: %d eligible comments: the test proves little", len(want))
	}
	var logs lockedBuffer
	pp := h.pollParams(pages)
	pp.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	pl := worker.NewPoller(pp)
	ctx := context.Background()
	poll := func(what string) worker.PollReport {
		t.Helper()
		rep, err := pl.Poll(ctx, page.ID, false)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return rep
	}
	first := poll("first poll")
	if first.Enqueued() != len(want) {
		t.Fatalf("first poll queued %d, want %d", first.Enqueued(), len(want))
	}
	if n := logs.count(noStateLine); n != 1 {
		t.Fatalf("first poll: %d lines saying %q, want 1; log:\n%s", n, noStateLine, logs.b.String())
	}
	poll("second poll")
	if n := logs.count(noStateLine); n != 1 {
		t.Fatalf("second poll: %d lines saying %q in all, want still 1", n, noStateLine)
	}

	h.startPollingWorker(t, pages, worker.NewPollHandler(h.pollParams(pages)))
	waitReplies(t, h, want, 30*time.Second)

	// Redis loses everything: queue, ledger, poll state, counters.
	if err := h.db.Client.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	again := poll("poll after the data loss")
	if again.Enqueued() != len(want) {
		t.Fatalf("poll after the data loss queued %d, want every eligible comment again (%d)", again.Enqueued(), len(want))
	}
	if n := logs.count(noStateLine); n != 2 {
		t.Fatalf("poll after the data loss: %d lines saying %q in all, want 2", n, noStateLine)
	}
	deadline := time.Now().Add(30 * time.Second)
	for h.sb.AlreadyRepliedCount() < len(want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := h.sb.AlreadyRepliedCount(); got != len(want) {
		t.Fatalf("Graph refused %d sends as already replied, want %d (every comment queued again once)", got, len(want))
	}
	if d := h.sb.Duplicates(); d != 0 {
		t.Fatalf("%d comments got a second private reply", d)
	}
	for _, e := range want {
		if n := h.sb.SendCount(e.target); n != 1 {
			t.Errorf("%s: %d replies, want 1", e.target, n)
		}
	}
}

// TestConversationsOnlyFirstPollSaysSoOnce: a Page that replies to
// conversations only says it has no poll state at its first poll, not at
// every poll.
func TestConversationsOnlyFirstPollSaysSoOnce(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 3, Seed: 85})
	pages := conversationPages(h)
	var logs lockedBuffer
	pp := h.pollParams(pages)
	pp.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	pl := worker.NewPoller(pp)
	for i := range 3 {
		if _, err := pl.Poll(context.Background(), pages[0].ID, false); err != nil {
			t.Fatalf("poll %d: %v", i, err)
		}
	}
	if n := logs.count(noStateLine); n != 1 {
		t.Fatalf("%d lines saying %q over 3 polls, want 1; log:\n%s", n, noStateLine, logs.b.String())
	}
}

// TestAlreadyRepliedLinesSpaced: after Redis lost its ledger, every answered
// comment the poll finds again is refused by Graph as already replied and
// recorded as sent. That was an INFO line each (3,600 in the operators'
// drill); now the first in logspace.Period is at INFO and the rest at debug
// (pagereply_duplicates_skipped_total{where="graph"} counts each), and none
// is sent twice.
func TestAlreadyRepliedLinesSpaced(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1})
	page := h.pages[0].ID
	rs := h.addComments(page, 20, "Thanks!")
	var logs lockedBuffer
	h.startWorkerOn(t, h.opt, 10, func(p *worker.Params) {
		p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	h.enqueueAll(t, rs)
	h.waitSent(t, rs, 30*time.Second)
	if err := h.db.Client.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	h.enqueueAll(t, rs)
	deadline := time.Now().Add(30 * time.Second)
	for h.sb.AlreadyRepliedCount() < len(rs) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	h.waitSent(t, rs, 30*time.Second)
	if got := h.sb.AlreadyRepliedCount(); got != len(rs) {
		t.Fatalf("Graph refused %d sends as already replied, want %d", got, len(rs))
	}
	if d := h.sb.Duplicates(); d != 0 {
		t.Fatalf("%d comments got a second private reply", d)
	}
	// The 20 refusals come within a few seconds: one line at INFO (two if
	// a slow machine spreads them over a period's end), not 20.
	if n := logs.count("graph says already replied"); n < 1 || n > 2 {
		t.Fatalf("%d INFO lines saying already replied for %d refusals, want 1 or 2", n, len(rs))
	}
}
