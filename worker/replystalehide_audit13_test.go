package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestReplyOnStaleHideMarkSent_audit13: a reply queued while its Page had
// skip_hidden, whose comment the webhook's hide marked before the reply's
// turn, runs after skip_hidden was turned off: the Page's hidden comments
// are answered now, so the reply is sent, not completed unsent on the
// mark. (A poll's full read finds such a comment again and queues its
// reply; a comment no poll reaches, a Reel's on a Page without reels, had
// nothing else.) Seen failing before the fix: the reply completed, "the
// Page hid the comment", and was never sent.
func TestReplyOnStaleHideMarkSent_audit13(t *testing.T) {
	f := newHiddenFixture(t, 1317, false)
	h, ctx := f.h, context.Background()
	r := f.hidden
	if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
		t.Fatal(err)
	}
	if ok, err := h.ledger.MarkHidden(ctx, f.page.ID, r.Target.ID, time.Now()); err != nil || !ok {
		t.Fatalf("MarkHidden: %v %v", ok, err)
	}
	page := f.page
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Pages = []config.Page{page} })
	h.waitSent(t, []tasks.Reply{r}, 20*time.Second)
	if n := h.sb.SendCount(r.Target.ID); n != 1 {
		t.Errorf("the comment got %d replies, want 1", n)
	}
}
