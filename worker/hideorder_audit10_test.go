package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestHideUnhideDeliveredOutOfOrderAudit10: Meta delivers a change it
// failed to deliver again later, after the changes that followed it; each
// hide and unhide carries its created_time, the time the Page acted. Real
// Redis, the sandbox over loopback, the API's webhook over loopback, a real
// worker, on a Page with skip_hidden whose replies a poll queued.
//
// hidden_then_shown: the Page hid a comment and showed it again; the
// hide's delivery failed, so the unhide came first and the hide later. The
// comment is shown, and its reply is sent (before the fix the late hide
// marked it, and its reply was never sent: a missed reply).
//
// shown_then_hidden: the Page showed a hidden comment and hid it again;
// the unhide's delivery failed, so the hide came first and the unhide
// later. The comment is hidden, and no reply goes to it (before the fix the
// late unhide dropped the mark, and the reply went out).
func TestHideUnhideDeliveredOutOfOrderAudit10(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hidden  bool     // the comment's state at the end
		changes []string // verbs as delivered, each with its time
		times   []int64
	}{
		{"hidden_then_shown", false, []string{"unhide", "hide"}, []int64{1767000020, 1767000010}},
		{"shown_then_hidden", true, []string{"hide", "unhide"}, []int64{1767000030, 1767000020}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHiddenFixture(t, 8871, true)
			h, ctx := f.h, context.Background()
			pl := f.poller(nil)
			if rep, err := pl.Poll(ctx, f.page.ID, false); err != nil || rep.Enqueued() != len(f.replies) {
				t.Fatalf("poll: %d queued, %v; want %d", rep.Enqueued(), err, len(f.replies))
			}
			deliver := signedWebhook(t, h, f.page)
			h.sb.SetHidden(f.hidden.Target.ID, tc.hidden)
			for i, verb := range tc.changes {
				deliver(`{"field":"feed","value":{"item":"comment","verb":"` + verb + `","comment_id":"` + f.hidden.Target.ID +
					`","post_id":"` + f.page.ID + `_1","parent_id":"` + f.page.ID + `_1","sender_id":` + f.page.ID +
					`,"created_time":` + strconv.FormatInt(tc.times[i], 10) + `}}`)
			}
			h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages = []config.Page{f.page} })
			h.waitSent(t, f.replies[1:], 20*time.Second)
			if tc.hidden {
				h.waitTask(t, f.hidden, 20*time.Second, nil, asynq.TaskStateCompleted)
				if n := h.sb.SendCount(f.hidden.Target.ID); n != 0 {
					t.Errorf("comment hidden last got %d sends, want 0", n)
				}
				e, err := h.ledger.Get(ctx, f.page.ID, f.hidden.Target)
				if err != nil || e.Reason != tasks.HiddenReason {
					t.Errorf("comment hidden last: ledger %+v %v; want hidden", e, err)
				}
				return
			}
			h.waitSent(t, f.replies[:1], 20*time.Second)
			h.checkExactlyOnce(t, f.replies)
		})
	}
}
