package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestConversationUnsettledHoldsPerson_audit10: a conversation reply whose
// earlier attempt's answer was lost, where the conversation cannot tell
// whether it got through (more than a page of messages since), is archived
// unsent. A reply to a message the person wrote before it (queued earlier,
// run after) would then be their second reply if the first got through: it
// must not be sent, but recorded as sent (the person answered), as a
// commenter's other comments are held by an unsettled reply. A message they
// wrote after the newest page's oldest message (after the first reply could
// have landed) still gets its own reply.
func TestConversationUnsettledHoldsPerson_audit10(t *testing.T) {
	personHeldByDoubt(t, func(h *harness, r *tasks.Reply) {
		// More than a page of the person's messages since.
		for range 40 {
			h.sb.AddMessage(r.PageID, sandbox.User{ID: r.PSID}, "one more thing", time.Now())
		}
	}, nil)
}

// personHeldByDoubt runs a conversation reply whose earlier attempt's
// answer was lost, after arrange set how its doubt ends (archived unsent;
// archived, when not nil, checks its entry then). The reply to a message
// the person wrote 30 s before it, run after, must be recorded as sent with
// nothing sent; the reply to a message they write after gets its own send.
func personHeldByDoubt(t *testing.T, arrange func(h *harness, r *tasks.Reply), archived func(t *testing.T, h *harness, r tasks.Reply)) {
	t.Helper()
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
	arrange(h, &r)
	h.startWorker(t, 2)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitArchived(t, r, 30*time.Second)
	if archived != nil {
		archived(t, h, r)
	}
	if o, _, err := h.enq.Enqueue(ctx, r0); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue the earlier message's reply: %v %v", o, err)
	}
	h.waitSent(t, []tasks.Reply{r0}, 30*time.Second)
	if n := h.sb.SendCount(r.PSID); n != 0 {
		t.Fatalf("%d messages sent to the person although the reply to their later message may have reached them", n)
	}
	// A message written after the doubtful reply could have landed: its
	// own reply.
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
		t.Errorf("%d messages sent to the person, want 1 (the reply to their message written after the doubtful one)", n)
	}
}
