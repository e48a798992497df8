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

// TestDoubtHiddenStaleSkipHiddenSent_audit13: a comment's reply in doubt
// (an attempt's answer lost) is hidden by the Page while it had
// skip_hidden: the webhook's hide leaves the doubt and writes the hide in
// the comment's shown key only. skip_hidden is then turned off: the Page's
// hidden comments are answered. The next attempt asks Graph, finds no
// earlier reply, and must send, as it does for a hide mark written before
// the change (the worker drops such a mark). Before the fix the shown key's
// old hide stopped it (HiddenInDoubt, not asking whether the Page still has
// skip_hidden): the task completed unsent, its claim turned into a hide mark
// nothing but a later read of the comment drops (a Reel's comment on a Page
// without reels: none).
func TestDoubtHiddenStaleSkipHiddenSent_audit13(t *testing.T) {
	f := newHiddenFixture(t, 1371, false)
	h, ctx := f.h, context.Background()
	r := f.hidden
	if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := h.ledger.MarkUnknown(ctx, r.PageID, r.Target, 0); err != nil {
		t.Fatal(err)
	}
	// The hide, written while the Page had skip_hidden, leaves the doubt.
	if _, err := h.ledger.MarkHidden(ctx, r.PageID, r.Target.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status != tasks.StatusUnknown {
		t.Fatalf("after the hide: %+v %v; want the doubt kept", e, err)
	}
	page := f.page // skip_hidden off now
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Pages = []config.Page{page} })
	h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateCompleted)
	if n := h.sb.SendCount(r.Target.ID); n != 1 {
		e, _ := h.ledger.Get(ctx, r.PageID, r.Target)
		t.Errorf("the comment got %d replies (ledger %+v), want 1: its Page answers hidden comments now", n, e)
	}
}

// TestStaleHideMarkOfDeadSendersClaim_audit13: a worker claims a comment's
// reply, sends it (it reaches Graph) and dies before it records anything;
// the Page, which had skip_hidden, hides the comment meanwhile, and the
// hide mark takes the claim's place. skip_hidden is then turned off: the
// task, brought back, finds the mark stale and drops it. Dropped, the mark
// must leave the dead worker's doubt (the next attempt asks Graph, finds
// its reply and records it), not nothing: a second reply to the person.
func TestStaleHideMarkOfDeadSendersClaim_audit13(t *testing.T) {
	f := newHiddenFixture(t, 1372, false)
	h, ctx := f.h, context.Background()
	r := f.hidden
	h.enqueueAll(t, []tasks.Reply{r})
	if res, err := h.ledger.Reserve(ctx, r.PageID, r.Target, "killed-worker", 300*time.Millisecond, tasks.Limit{}); err != nil || res.Outcome != tasks.ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
	if _, err := g.SendPrivateReply(ctx, f.page.AccessToken, r.PageID, graph.Recipient{CommentID: r.Target.ID}, r.Text); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.ledger.MarkHidden(ctx, r.PageID, r.Target.ID, time.Now()); err != nil || !ok {
		t.Fatalf("MarkHidden: %v %v", ok, err)
	}
	page := f.page // skip_hidden off now
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Pages = []config.Page{page} })
	h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateCompleted)
	if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status != tasks.StatusSent {
		t.Errorf("entry %+v %v; want sent (the dead worker's reply found)", e, err)
	}
	h.checkExactlyOnce(t, []tasks.Reply{r})
}
