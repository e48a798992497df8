package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/worker"
)

// TestUnhiddenCommentAnsweredAudit8: a comment the Page hid after its reply
// was queued, and showed again (Meta's unhide), gets its reply at the next
// read that finds it, as docs/BEHAVIOUR.md says: the hidden reply's task completed
// (kept an hour by asynq, TaskID and all), and an enqueue of the same target
// was told "already queued" for that hour, though the ledger, the lasting
// guard, no longer held anything for it: a full read in that hour (every
// quarter of the reply window, 15 minutes with max_age 1h) skipped it, and
// with a short window the comment was never answered. Real Redis, the
// sandbox over loopback, the API's webhook over loopback, a real worker, the
// enqueuer with its Inspector as the roles build it.
func TestUnhiddenCommentAnsweredAudit8(t *testing.T) {
	f := newHiddenFixture(t, 8814, true)
	h, ctx := f.h, context.Background()
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	h.enq.Inspector = insp
	pl := f.poller(nil)
	if rep, err := pl.Poll(ctx, f.page.ID, false); err != nil || rep.Enqueued() != len(f.replies) {
		t.Fatalf("poll: %d queued, %v; want %d", rep.Enqueued(), err, len(f.replies))
	}
	deliver := hideWebhook(t, f.h, f.page)
	h.sb.SetHidden(f.hidden.Target.ID, true)
	deliver("hide", f.hidden.Target.ID)
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages = []config.Page{f.page} })
	h.waitSent(t, f.replies[1:], 20*time.Second)
	h.waitTask(t, f.hidden, 20*time.Second, nil, asynq.TaskStateCompleted)
	if n := h.sb.SendCount(f.hidden.Target.ID); n != 0 {
		t.Fatalf("hidden comment got %d sends", n)
	}

	// Shown again, then a full read (the record of the last one dropped).
	h.sb.SetHidden(f.hidden.Target.ID, false)
	deliver("unhide", f.hidden.Target.ID)
	posts, _ := worker.PollStateKeys(h.ledger, f.page.ID)
	if err := h.db.Client.HDel(ctx, posts, "_full").Err(); err != nil {
		t.Fatal(err)
	}
	rep, err := pl.Poll(ctx, f.page.ID, false)
	if err != nil || rep.FullRead == "" {
		t.Fatalf("poll after the unhide: %v, full read %q", err, rep.FullRead)
	}
	if rep.Enqueued() != 1 {
		t.Errorf("full read after the unhide queued %d (outcomes %v), want the unhidden comment's reply", rep.Enqueued(), rep.Outcomes)
	}
	h.waitSent(t, f.replies[:1], 20*time.Second)
	h.checkExactlyOnce(t, f.replies)
	// Found again once sent: nothing more.
	if rep, err := pl.Poll(ctx, f.page.ID, false); err != nil || rep.Enqueued() != 0 {
		t.Errorf("poll after the send: %d queued, %v; want 0", rep.Enqueued(), err)
	}
	h.checkExactlyOnce(t, f.replies)
}
