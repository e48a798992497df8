package worker_test

import (
	"context"
	"testing"

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
	personHeldByDoubt(t, func(_ *harness, r *tasks.Reply) {
		// The doubtful reply's conversation, as its task names it, is one
		// Graph refuses for good (code 100: no such object).
		r.ConversationID = "t_999999999999"
	}, func(t *testing.T, h *harness, r tasks.Reply) {
		es, err := h.ledger.GetMany(context.Background(), r.PageID, []tasks.Target{r.Target})
		if err != nil || es[0].Status != tasks.StatusFailed {
			t.Fatalf("the refused doubt's entry: %+v %v, want failed", es, err)
		}
	})
}
