package worker_test

import (
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestSentMarkErrorConversation_audit14 is TestSentMarkErrorRetried for a
// conversation reply, which Graph would take a second time: Messenger
// accepted the send, its sent mark failed (a Redis error that is not an
// outage, so the worker does not wait to write it again), and the claim
// stays. The next attempt, after the claim's lease, is in doubt: it reads
// the conversation, finds the Page's message with the reply's text after
// the person's, and records it as sent; the person gets one message.
func TestSentMarkErrorConversation_audit14(t *testing.T) {
	t.Parallel() // waits out the claim's lease
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 5, Seed: 1418})
	r := h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
	hook := failSentMark()
	ledger := hook.ledger(t, h)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.GraphTimeout = ledger, 200*time.Millisecond })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if hook.armed.Load() {
		t.Fatal("the sent mark's Redis error was never injected: the test proves nothing")
	}
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("the person got %d messages, want 1", n)
	}
}
