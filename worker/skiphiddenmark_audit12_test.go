package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/worker"
)

// TestSkipHiddenTurnedOffAnswersMarked_audit12: a comment the webhook's hide
// marked in the ledger (skip_hidden on) is answered once skip_hidden is
// turned off, as one the poll skipped as hidden is: the full read that the
// change makes drops the mark and queues its reply. Seen failing before the
// fix: the read skipped it as already replied (the mark is "failed for
// good"), and a reply queued anyway completed on the mark, unsent.
func TestSkipHiddenTurnedOffAnswersMarked_audit12(t *testing.T) {
	f := newHiddenFixture(t, 1211, true)
	h, ctx := f.h, context.Background()
	if !h.sb.SetHidden(f.hidden.Target.ID, true) {
		t.Fatal("SetHidden: unknown comment")
	}
	if _, err := h.ledger.MarkHidden(ctx, f.page.ID, f.hidden.Target.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	page := f.page
	if rep := f.pollAs(t, page); rep.Enqueued() != len(f.replies)-1 {
		t.Fatalf("poll with skip_hidden: %d queued, want %d", rep.Enqueued(), len(f.replies)-1)
	}
	page.SkipHidden = false
	rep := f.pollAs(t, page)
	if rep.Enqueued() != 1 || !strings.Contains(rep.FullRead, "settings changed") {
		t.Fatalf("poll after skip_hidden was turned off: %d queued (skipped %v), full read %q; want the hidden comment's reply queued", rep.Enqueued(), rep.Skipped, rep.FullRead)
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Pages = []config.Page{page} })
	h.waitSent(t, f.replies, 20*time.Second)
	if n := h.sb.SendCount(f.hidden.Target.ID); n != 1 {
		t.Errorf("the hidden comment got %d replies, want 1", n)
	}
}
