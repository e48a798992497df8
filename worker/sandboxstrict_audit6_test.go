package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// TestDeletedCommentArchived: a comment deleted after its reply was queued
// is answered by Graph as an unknown id (100/33): the reply is archived
// with the reason, after one send, without retries.
func TestDeletedCommentArchived(t *testing.T) {
	h := newHarness(t, sandbox.Options{Seed: 71})
	page := h.sb.Pages()[0].ID
	rs := h.addComments(page, 2, "hi")
	if !h.sb.DeleteComment(rs[0].Target.ID) {
		t.Fatal("DeleteComment")
	}
	h.enqueueAll(t, rs)
	h.startWorker(t, 2)
	h.waitSent(t, rs[1:], 10*time.Second)
	ti := h.waitArchived(t, rs[0], 10*time.Second)
	if ti.Retried != 0 || !strings.Contains(ti.LastErr, "100") {
		t.Fatalf("archived after %d retries, last error %q", ti.Retried, ti.LastErr)
	}
	if n := h.sb.SendCount(rs[0].Target.ID); n != 0 {
		t.Fatalf("deleted comment got %d sends", n)
	}
}

// TestPollReadThrottled: Graph throttling a poll's reads (Options.ReadRate)
// pauses the Page, and the next poll does not call Graph while the block
// holds: Meta lengthens a block that is ignored.
func TestPollReadThrottled(t *testing.T) {
	h := newHarness(t, sandbox.Options{Posts: 6, Comments: 5, Seed: 72, ReadRate: 2, ThrottleBlock: time.Minute})
	pages := commentPages(h)
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	rep, err := pl.Poll(ctx, pages[0].ID, false)
	if err == nil || rep.Paused == "" {
		t.Fatalf("poll past ReadRate: err %v, paused %q", err, rep.Paused)
	}
	if n := h.sb.ThrottledCount(pages[0].ID); n != 1 {
		t.Fatalf("ThrottledCount after the first poll = %d, want 1", n)
	}
	calls := h.sb.Calls()
	rep, err = pl.Poll(ctx, pages[0].ID, false)
	if err != nil || !rep.PausedBefore {
		t.Fatalf("second poll: err %v, %+v", err, rep)
	}
	if n := h.sb.ThrottledCount(pages[0].ID); n != 1 {
		t.Fatalf("ThrottledCount after the second poll = %d: it called Graph in the block (%v -> %v)", n, calls, h.sb.Calls())
	}
}
