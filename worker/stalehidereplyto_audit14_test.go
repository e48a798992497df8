package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestHideHoldsWithoutCommentsInReplyTo_audit14: a Page that had
// skip_hidden stops replying to comments (reply_to lists conversations
// only; config then refuses skip_hidden, so it is off too). Its skip_hidden
// being off is no wish to answer hidden comments: it answers none. A reply
// queued before the change, whose comment the Page hid meanwhile (a hide
// mark, or a hide kept during the reply's doubt), is not sent: both were
// taken for a hide of skip_hidden turned off since, and the reply went to
// the comment the Page had hidden.
func TestHideHoldsWithoutCommentsInReplyTo_audit14(t *testing.T) {
	for _, doubt := range []bool{false, true} {
		name := "mark"
		if doubt {
			name = "doubt"
		}
		t.Run(name, func(t *testing.T) {
			f := newHiddenFixture(t, 1471, false)
			h, ctx := f.h, context.Background()
			r := f.hidden
			if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
				t.Fatal(err)
			}
			if doubt {
				if err := h.ledger.MarkUnknown(ctx, r.PageID, r.Target, 0); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := h.ledger.MarkHidden(ctx, r.PageID, r.Target.ID, time.Now()); err != nil {
				t.Fatal(err)
			}
			page := f.page
			page.SkipHidden, page.ReplyTo = false, []string{config.ReplyConversations}
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Pages = []config.Page{page} })
			h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateCompleted)
			if n := h.sb.SendCount(r.Target.ID); n != 0 {
				e, _ := h.ledger.Get(ctx, r.PageID, r.Target)
				t.Errorf("the hidden comment got %d replies (ledger %+v), want none", n, e)
			}
			if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Reason != tasks.HiddenReason {
				t.Errorf("entry %+v %v; want the hide mark", e, err)
			}
		})
	}
}
