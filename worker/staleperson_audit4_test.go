package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestStaleGiveBackKeepsLiveSettle: a doubtful conversation reply's attempt
// whose check found nothing sent stalls past its lease before it claims the
// person; meanwhile another attempt takes the target, and either sends and
// loses the answer (the target is then in doubt until that send's settle
// time, as the send may still land), or is still sending. The stale
// attempt, told the person is busy (its target is no longer its own), gives
// the target back: that must leave the live attempt's entry as it is.
//   - In doubt: the settle time wiped, the target's retry, a second later,
//     read the conversation before the late send landed, found nothing, and
//     sent again: two replies to one message.
//   - Sending: marked unknown under it, the live attempt found its target
//     lost at its send's last gate and went back to the queue for nothing.
func TestStaleGiveBackKeepsLiveSettle(t *testing.T) {
	for _, tc := range []struct {
		name, person string
		live         func(now int64) string
		next         tasks.ReserveOutcome // the target's next reservation
	}{
		{"in doubt", "7001041", func(now int64) string {
			return "u|" + strconv.FormatInt(now, 10) + "|" + strconv.FormatInt(now+time.Minute.Milliseconds(), 10)
		}, tasks.ReserveSettling},
		{"sending", "7001042", func(now int64) string {
			return "c|" + tasks.NewToken() + "|" + strconv.FormatInt(now+time.Minute.Milliseconds(), 10)
		}, tasks.ReserveBusy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, pages, ann, r1, _ := annTwoMessages(t, tc.person)
			page := r1.PageID
			ctx := context.Background()
			entry := h.ledger.PageKey(page, "t:"+r1.Target.String())
			h.lostAnswer(t, r1) // an earlier attempt's answer was lost: this one checks first
			var live string
			staleAttempt(t, h, pages, r1, ann.ID, func() error {
				live = tc.live(time.Now().UnixMilli())
				return h.db.Client.SetArgs(ctx, entry, live, redis.SetArgs{KeepTTL: true}).Err()
			})
			if v, err := h.db.Client.Get(ctx, entry).Result(); err != nil || v != live {
				t.Errorf("target's entry %q %v after the stale attempt, want the live attempt's %q", v, err, live)
			}
			res, err := h.ledger.Reserve(ctx, page, r1.Target, tasks.NewToken(), time.Minute, tasks.Limit{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tc.next {
				t.Errorf("the target's next attempt reserves %+v, want outcome %d", res, tc.next)
			}
		})
	}
}

// TestRefusedReplyReleasesPerson: a conversation reply that claimed its
// person and sent nothing (Graph refused it for good) drops its claim on
// the person on its way out (personDone). Left, the claim would hold the
// person's other replies back whenever the target is claimed again.
func TestRefusedReplyReleasesPerson(t *testing.T) {
	h, pages, ann, r1, _ := annTwoMessages(t, "7001043")
	r1.Text = "refuse me"
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Pages = pages
		p.Graph = &failText{Graph: p.Graph, text: r1.Text}
	})
	h.enqueueAll(t, []tasks.Reply{r1})
	h.waitArchived(t, r1, 10*time.Second)
	key := h.ledger.PageKey(r1.PageID, "p:"+ann.ID)
	if v, err := h.db.Client.Get(context.Background(), key).Result(); err != redis.Nil {
		t.Errorf("person's claim %q (%v) after an attempt that sent nothing, want none", v, err)
	}
}
