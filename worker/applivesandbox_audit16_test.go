package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestAppNotLiveThroughSandbox_audit16: against the sandbox playing an app
// not live (AppNotLive, one tester), the worker sends the tester's reply,
// archives the other person's with Meta's 10/2018028 without pausing the
// Page, and once the app is live sends it when it is run again: one send,
// no duplicate.
func TestAppNotLiveThroughSandbox_audit16(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 49, AppNotLive: true, AppTesters: []string{"5000001"}})
	page := h.pages[0].ID
	rs := h.addComments(page, 2, "Thanks") // by 5000000 and 5000001
	noRole, tester := rs[0], rs[1]
	h.startWorker(t, 2)
	ctx := context.Background()
	for _, r := range rs {
		if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	h.waitSent(t, []tasks.Reply{tester}, 20*time.Second)
	if ti := h.waitArchived(t, noRole, 20*time.Second); !strings.Contains(ti.LastErr, "2018028") {
		t.Errorf("archived with %q, want Graph's subcode", ti.LastErr)
	}
	if d, reason, err := h.ledger.Paused(ctx, page); err != nil || d > 0 {
		t.Fatalf("Page paused for %s (%q, %v)", d, reason, err)
	}
	if n := h.sb.SendCount(noRole.Target.ID); n != 0 {
		t.Fatalf("%d sends to the person without a role while not live", n)
	}

	h.sb.SetAppNotLive(false, nil)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if err := insp.RunTask(tasks.QueueReplies, noRole.Target.String()); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{noRole}, 20*time.Second)
	if n, d := h.sb.SendCount(noRole.Target.ID), h.sb.Duplicates(); n != 1 || d != 0 {
		t.Errorf("%d sends, %d duplicates; want 1, 0", n, d)
	}
}
