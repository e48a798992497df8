package worker_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestMarkWhileWaitingForSendSlotNoWarn_audit15: a reply waiting for its
// send slot whose comment the webhook marks meanwhile (the Page hid it, or
// it was removed: the mark takes the claim's place) is not sent, as before,
// and says so at INFO with the mark's reason: it is routine, one line per
// hide or removal of a comment with a reply queued. It was said at WARN as
// "claim lost while waiting for a send slot", the line of a claim that ran
// out and was taken by another attempt: a soak's 12 such WARNs were all
// hides and removals.
func TestMarkWhileWaitingForSendSlotNoWarn_audit15(t *testing.T) {
	for _, kind := range []string{"hide", "remove"} {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 61})
			h.pages[0].SkipHidden = true
			r := waitingAtAdmission(t, h)
			page := r.PageID
			var logs lockedBuffer
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
				p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
			})
			ctx := context.Background()
			waitClaimed(t, h, r)
			var ok bool
			var err error
			if kind == "hide" {
				ok, err = h.ledger.MarkHidden(ctx, page, r.Target.ID, time.Now())
			} else {
				ok, err = h.ledger.MarkRemoved(ctx, page, r.Target)
			}
			if err != nil || !ok {
				t.Fatalf("mark %s: %v %v", kind, ok, err)
			}
			waitRepliesSettled(t, h)
			if n := h.sb.SendCount(r.Target.ID); n != 0 {
				t.Fatalf("the reply was sent %d times after its comment was marked (%s)", n, kind)
			}
			if e, _ := h.ledger.Get(ctx, page, r.Target); e.Status != tasks.StatusFailed {
				t.Fatalf("entry %+v, want the %s mark kept", e, kind)
			}
			if n := logs.count(`"level":"WARN"`) + logs.count(`"level":"ERROR"`); n != 0 {
				t.Errorf("a %s while the reply waited for its send slot logged %d WARN or ERROR lines (claim lost: %d)", kind, n, logs.count("claim lost"))
			}
			if logs.count(r.Target.String()) == 0 {
				t.Errorf("no line names the reply not sent")
			}
		})
	}
}
