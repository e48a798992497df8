package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestConversationDoubtRefusedHoldsPerson_audit11: a conversation reply
// whose earlier attempt's answer was lost, and whose check Graph refuses for
// good (its conversation cannot be read: deleted, or no longer the Page's),
// is archived unsent, as a reply that may have reached the person. A reply to
// a message they wrote before it (queued earlier, run after) would be their
// second if it did: it must not be sent, but recorded as sent, as for a
// reply whose conversation cannot tell (unsettled). A message they write
// after the refusal still gets its own reply.
func TestConversationDoubtRefusedHoldsPerson_audit11(t *testing.T) {
	h, r := lostAnswerReply(t)
	page, ctx := r.PageID, context.Background()
	var wrote time.Time
	for _, c := range h.sb.Conversations(page) {
		if c.ID == r.ConversationID {
			wrote = c.Messages[len(c.Messages)-1].CreatedTime
		}
	}
	if wrote.IsZero() {
		t.Fatal("no conversation for the reply")
	}
	r.Created = wrote.UnixMilli()
	// An earlier message of the person's, whose reply waits in the queue.
	_, m0 := h.sb.AddMessage(page, sandbox.User{ID: r.PSID}, "are you open today?", wrote.Add(-30*time.Second))
	r0 := r
	r0.Target = tasks.Target{Kind: tasks.KindMessage, ID: m0}
	r0.Created = wrote.Add(-30 * time.Second).UnixMilli()
	// The doubtful reply's conversation, as its task names it, is one Graph
	// refuses for good (code 100: no such object).
	r.ConversationID = "t_999999999999"
	h.startWorker(t, 2)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitArchived(t, r, 30*time.Second)
	if es, err := h.ledger.GetMany(ctx, page, []tasks.Target{r.Target}); err != nil || es[0].Status != tasks.StatusFailed {
		t.Fatalf("the refused doubt's entry: %+v %v, want failed", es, err)
	}
	if o, _, err := h.enq.Enqueue(ctx, r0); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue the earlier message's reply: %v %v", o, err)
	}
	h.waitSent(t, []tasks.Reply{r0}, 30*time.Second)
	if n := h.sb.SendCount(r.PSID); n != 0 {
		t.Fatalf("%d messages sent to the person although the reply to their later message may have reached them", n)
	}
	// A message written after the refusal: its own reply.
	later := time.Now().Add(3 * time.Second)
	_, m2 := h.sb.AddMessage(page, sandbox.User{ID: r.PSID}, "hello again", later)
	r2 := r0
	r2.Target = tasks.Target{Kind: tasks.KindMessage, ID: m2}
	r2.Created = later.UnixMilli()
	if o, _, err := h.enq.Enqueue(ctx, r2); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue the later message's reply: %v %v", o, err)
	}
	h.waitSent(t, []tasks.Reply{r2}, 30*time.Second)
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("%d messages sent to the person, want 1 (the reply to their message written after the refused one)", n)
	}
}
