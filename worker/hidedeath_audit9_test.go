package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestHideOfDeadSendersClaimThenUnhide: on a Page with skip_hidden, a
// worker claims a comment's reply, sends it, and dies before it records
// anything (its claim, the only record that it may have sent, is in the
// ledger). The Page hides the comment meanwhile: Meta's hide, through the
// API's webhook, puts the hide mark in the claim's place, and the dead
// worker's task, brought back by asynq, completes on the mark. The Page
// then shows the comment again: the unhide must leave the claim's doubt,
// not nothing, so that the reply the next poll queues asks Graph first,
// finds the dead worker's reply and records it, instead of sending a second
// one (Graph's 10900). Before the fix the unhide dropped the mark and, with
// it, the doubt.
func TestHideOfDeadSendersClaimThenUnhide(t *testing.T) {
	f := newHiddenFixture(t, 9121, true)
	h, ctx := f.h, context.Background()
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	h.enq.Inspector = insp
	r := f.hidden
	deliver := hideWebhook(t, h, f.page)

	// The dead worker's task, and its claim, and its send, which reached
	// Graph.
	h.enqueueAll(t, []tasks.Reply{r})
	if res, err := h.ledger.Reserve(ctx, r.PageID, r.Target, "killed-worker", 2*time.Second, tasks.Limit{}); err != nil || res.Outcome != tasks.ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
	if _, err := g.SendPrivateReply(ctx, f.page.AccessToken, r.PageID, graph.Recipient{CommentID: r.Target.ID}, r.Text); err != nil {
		t.Fatal(err)
	}
	h.sb.SetHidden(r.Target.ID, true)
	deliver("hide", r.Target.ID)
	if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status != tasks.StatusFailed || e.Reason != tasks.HiddenReason {
		t.Fatalf("after the hide: %+v, %v; want failed, %q", e, err, tasks.HiddenReason)
	}

	// Its task, brought back, completes on the mark.
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Pages = []config.Page{f.page} })
	h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateCompleted)

	h.sb.SetHidden(r.Target.ID, false)
	deliver("unhide", r.Target.ID)
	if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status != tasks.StatusUnknown {
		t.Errorf("after the unhide: %+v, %v; want unknown (the dead worker may have sent)", e, err)
	}
	rep, err := f.poller(nil).Poll(ctx, f.page.ID, false)
	if err != nil || rep.Enqueued() != len(f.replies) {
		t.Fatalf("poll after the unhide: %d queued (outcomes %v), %v; want %d", rep.Enqueued(), rep.Outcomes, err, len(f.replies))
	}
	h.waitSent(t, f.replies, 30*time.Second)
	if got := h.sb.AlreadyReplied(); len(got) != 0 {
		t.Errorf("%d sends refused as already replied (10900), the first to %s: a second reply was sent unchecked", len(got), got[0].Target)
	}
	h.checkExactlyOnce(t, f.replies)
}
