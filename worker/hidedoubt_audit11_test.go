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

// TestHideDuringDoubt_audit11: on a Page with skip_hidden, the Page hides a
// comment while its reply's ledger entry is a doubt (an attempt's answer was
// lost; or the doubt an unhide leaves when it lifts a mark that had taken a
// claim's place, and the Page hides the comment again). The hide cannot
// replace the doubt (the send may have landed), but it must not be lost:
// when the next attempt's Graph check finds no earlier reply, the reply is
// not sent and its target is marked hidden; when it finds one, it is
// recorded sent, and no second one goes. Shown again, the comment gets its
// one reply from the next poll. Before the fix the hide was dropped, and
// the attempt after the check sent a reply to the hidden comment.
func TestHideDuringDoubt_audit11(t *testing.T) {
	for _, tc := range []struct {
		name string
		// doubt leaves r's entry in doubt, deliver being the webhook.
		doubt func(t *testing.T, f *hiddenFixture, deliver func(verb, id string))
		// landed: the earlier attempt's reply reached Graph.
		landed bool
	}{
		{name: "lost_answer", doubt: func(t *testing.T, f *hiddenFixture, _ func(string, string)) {
			f.h.lostAnswer(t, f.hidden)
		}},
		{name: "lost_answer_landed", landed: true, doubt: func(t *testing.T, f *hiddenFixture, _ func(string, string)) {
			f.h.lostAnswer(t, f.hidden, func() {
				g := graph.New(graph.Config{BaseURL: f.h.srv.URL, Timeout: 2 * time.Second})
				r := f.hidden
				if _, err := g.SendPrivateReply(context.Background(), f.page.AccessToken, r.PageID, graph.Recipient{CommentID: r.Target.ID}, r.Text); err != nil {
					t.Fatal(err)
				}
			})
		}},
		{name: "unhide_doubt", doubt: func(t *testing.T, f *hiddenFixture, deliver func(string, string)) {
			// A worker's claim, a hide that takes its place, and the
			// unhide that turns the mark into the claim's doubt.
			r := f.hidden
			if res, err := f.h.ledger.Reserve(context.Background(), r.PageID, r.Target, "dead-worker", 300*time.Millisecond, tasks.Limit{}); err != nil || res.Outcome != tasks.ReserveGo {
				t.Fatalf("reserve: %+v %v", res, err)
			}
			deliver("hide", r.Target.ID)
			deliver("unhide", r.Target.ID)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHiddenFixture(t, 11071, true)
			h, ctx := f.h, context.Background()
			insp := asynq.NewInspector(h.opt)
			t.Cleanup(func() { _ = insp.Close() })
			h.enq.Inspector = insp
			r := f.hidden
			deliver := hideWebhook(t, h, f.page)
			h.enqueueAll(t, []tasks.Reply{r})
			tc.doubt(t, f, deliver)

			h.sb.SetHidden(r.Target.ID, true)
			deliver("hide", r.Target.ID)
			if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status != tasks.StatusUnknown {
				t.Fatalf("after the hide: %+v, %v; want the doubt kept", e, err)
			}

			// The worker has the fixture's Page, skip_hidden on, as the
			// webhook that keeps the hide has it.
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Pages = []config.Page{f.page} })
			h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateCompleted)
			e, err := h.ledger.Get(ctx, r.PageID, r.Target)
			if err != nil {
				t.Fatal(err)
			}
			if tc.landed {
				if e.Status != tasks.StatusSent {
					t.Errorf("entry %+v; want sent (the earlier attempt's reply landed)", e)
				}
				if n := h.sb.SendCount(r.Target.ID); n != 1 {
					t.Errorf("%d sends to the comment; want 1, the earlier attempt's", n)
				}
				if n := h.sb.AlreadyRepliedCount(); n != 0 {
					t.Errorf("%d sends refused as already replied: a second reply was tried", n)
				}
				return
			}
			if n := h.sb.SendCount(r.Target.ID); n != 0 {
				t.Fatalf("%d replies sent to the comment the Page hid while its entry was in doubt; want none", n)
			}
			if e.Status != tasks.StatusFailed || e.Reason != tasks.HiddenReason {
				t.Errorf("entry %+v; want failed, %q", e, tasks.HiddenReason)
			}

			// Shown again: the next poll queues its reply, sent once.
			h.sb.SetHidden(r.Target.ID, false)
			deliver("unhide", r.Target.ID)
			rep, err := f.poller(nil).Poll(ctx, f.page.ID, false)
			if err != nil || rep.Enqueued() != len(f.replies) {
				t.Fatalf("poll after the unhide: %d queued (outcomes %v), %v; want %d", rep.Enqueued(), rep.Outcomes, err, len(f.replies))
			}
			h.waitSent(t, f.replies, 30*time.Second)
			h.checkExactlyOnce(t, f.replies)
		})
	}
}

// TestOneReplyPerPersonHideDuringDoubt_audit11: on a Page with
// one_reply_per_person and skip_hidden, a person's comment a is in doubt
// (its attempt claimed the person, sent, and its answer was lost) when the
// Page hides it. Graph has no reply from that attempt: a's reply is not
// sent (the comment is hidden), and the person, whom the doubt held, is
// free again: their other comment b gets the one reply. Before the fix a's
// reply went to the hidden comment.
func TestOneReplyPerPersonHideDuringDoubt_audit11(t *testing.T) {
	h, pages, ra, rb := twoCommentsHidable(t, 11072, "7009111")
	page, a, b := pages[0].ID, ra.Target.ID, rb.Target.ID
	ctx := context.Background()
	deliver := hideWebhook(t, h, pages[0])

	h.enqueueAll(t, []tasks.Reply{ra})
	h.lostAnswer(t, ra, func() {
		pc, err := h.ledger.PersonClaim(ctx, page, tasks.Person{ID: ra.Person, Commenter: true}, ra.Target, "t1", time.Time{}, 24*time.Hour)
		if err != nil || pc.Outcome != tasks.PersonClaimed {
			t.Fatalf("person claim: %+v %v", pc, err)
		}
	})
	h.sb.SetHidden(a, true)
	deliver("hide", a)

	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Pages = pages })
	h.waitTask(t, ra, 20*time.Second, nil, asynq.TaskStateCompleted)
	if e, err := h.ledger.Get(ctx, page, ra.Target); err != nil || e.Status != tasks.StatusFailed || e.Reason != tasks.HiddenReason {
		t.Errorf("a's entry: %+v, %v; want failed, %q", e, err, tasks.HiddenReason)
	}
	h.enqueueAll(t, []tasks.Reply{rb})
	h.waitSent(t, []tasks.Reply{rb}, 20*time.Second)
	if na, nb := h.sb.SendCount(a), h.sb.SendCount(b); na != 0 || nb != 1 {
		t.Errorf("the person got %d replies to a (hidden) and %d to b, want b's one", na, nb)
	}
}
