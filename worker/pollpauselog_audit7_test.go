package worker_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/worker"
)

// TestPausedPollLoggedOncePerPause: every poll of a paused Page is skipped;
// the first says so at INFO (with the Page, the reason and the time left),
// the next polls of the same pause at DEBUG: a Page paused 30 minutes on a
// 1-minute schedule, or every Page of an app-wide pause, logged the same
// INFO line at every poll. A new pause of the Page is said at INFO again.
func TestPausedPollLoggedOncePerPause(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 7701})
	pages := pollPages(h)
	page := pages[0].ID
	ctx := context.Background()
	if _, err := h.ledger.Pause(ctx, page, 10*time.Minute, "throttled: code 80006 [fbtrace A]"); err != nil {
		t.Fatal(err)
	}
	var logs proctest.Buffer
	p := h.pollParams(pages)
	p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	poller := worker.NewPoller(p)
	poll := func() {
		t.Helper()
		rep, err := poller.Poll(ctx, page, false)
		if err != nil || !rep.PausedBefore {
			t.Fatalf("poll of a paused Page: %+v, %v; want skipped as paused", rep, err)
		}
	}
	levels := func(text string) map[string]int {
		n := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
			if !strings.Contains(line, `"msg":"poll skipped: page paused"`) {
				continue
			}
			if !strings.Contains(line, `"page_id":"`+page+`"`) || !strings.Contains(line, `"reason":"throttled`) || !strings.Contains(line, `"for":`) {
				t.Errorf("line without the Page, the reason or the time left: %s", line)
			}
			for _, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
				if strings.Contains(line, `"level":"`+l+`"`) {
					n[l]++
				}
			}
		}
		return n
	}
	for range 4 {
		poll()
	}
	if n := levels(logs.String()); n["INFO"] != 1 || n["DEBUG"] != 3 {
		t.Errorf("poll skipped: page paused %v lines by level over 4 polls, want 1 INFO and 3 DEBUG:\n%s", n, logs.String())
	}
	if _, err := h.ledger.Pause(ctx, page, 20*time.Minute, "throttled: code 80006 [fbtrace B]"); err != nil {
		t.Fatal(err)
	}
	mark := len(logs.String())
	poll()
	if n := levels(logs.String()[mark:]); n["INFO"] != 1 {
		t.Errorf("a new pause: %v lines by level, want 1 INFO:\n%s", n, logs.String()[mark:])
	}
}

// TestBusyPollLoggedOnceUntilPolled: a poll that meets another poll of the
// Page running says so at INFO once; the next ones at debug (a poll that
// outlasts its interval meets every slot's), until this process polls the
// Page again.
func TestBusyPollLoggedOnceUntilPolled(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 7702})
	pages := pollPages(h)
	page := pages[0].ID
	ctx := context.Background()
	var logs proctest.Buffer
	p := h.pollParams(pages)
	p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	poller := worker.NewPoller(p)
	held := func() string {
		t.Helper()
		token, ok, err := h.ledger.TryLease(ctx, page, "poll", time.Minute)
		if err != nil || !ok {
			t.Fatalf("take the poll's lease: %v %v", ok, err)
		}
		return token
	}
	busy := func(n int) {
		t.Helper()
		for range n {
			if rep, err := poller.Poll(ctx, page, false); err != nil || !rep.Busy {
				t.Fatalf("poll beside another: %+v, %v; want busy", rep, err)
			}
		}
	}
	levels := func() map[string]int {
		n := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			if !strings.Contains(line, `"msg":"poll skipped: another poll of the page is running"`) {
				continue
			}
			for _, l := range []string{"DEBUG", "INFO"} {
				if strings.Contains(line, `"level":"`+l+`"`) {
					n[l]++
				}
			}
		}
		return n
	}
	token := held()
	busy(3)
	if n := levels(); n["INFO"] != 1 || n["DEBUG"] != 2 {
		t.Errorf("3 busy polls: %v lines by level, want 1 INFO and 2 DEBUG", n)
	}
	if err := h.ledger.ReleaseLease(ctx, page, "poll", token); err != nil {
		t.Fatal(err)
	}
	if rep, err := poller.Poll(ctx, page, false); err != nil || rep.Busy {
		t.Fatalf("poll with the lease free: %+v, %v", rep, err)
	}
	held()
	busy(1)
	if n := levels(); n["INFO"] != 2 || n["DEBUG"] != 2 {
		t.Errorf("busy again after a poll of its own: %v lines by level, want a second INFO", n)
	}
}
