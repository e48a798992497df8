package worker_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// secondConvReadFails fails the second conversation read with a transient
// Graph error; the others go through.
type secondConvReadFails struct {
	worker.Graph
	reads atomic.Int32
}

func (g *secondConvReadFails) Conversation(ctx context.Context, token, id string) (graph.Conversation, error) {
	if g.reads.Add(1) == 2 {
		return graph.Conversation{}, &graph.Error{HTTPStatus: 500, Code: 2, IsTransient: true, Message: "flaky", Class: graph.ClassTransient}
	}
	return g.Graph.Conversation(ctx, token, id)
}

// TestAnsweredRecordFailsKeepsCheck_audit6: a conversation reply that waited
// finds the Page's answer, records it for the person, and Redis fails the
// target's mark. The next attempt must not send on the strength of a
// conversation read that fails: the person's record names this very target
// (so PersonClaim does not take it as answered) and only a Graph read can
// tell. The target stays in doubt, and the attempt that reads the
// conversation records the answer; nothing is sent.
func TestAnsweredRecordFailsKeepsCheck_audit6(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 6601})
	now := time.Now()
	r, answer := answeredConversation(t, h, "66010001", now.Add(-20*time.Minute), now.Add(-5*time.Minute), now.Add(-19*time.Minute))
	hook := failSentMark()
	ledger := hook.ledger(t, h)
	g := &secondConvReadFails{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.Graph = ledger, g })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if hook.failed.Load() == 0 {
		t.Fatal("the sent mark never failed: the test proves nothing")
	}
	if n := g.reads.Load(); n < 2 {
		t.Fatalf("%d conversation reads, want the failing second one at least", n)
	}
	if n := h.sb.SendCount(r.PSID); n != 0 {
		t.Errorf("the person the Page answered got %d messages from pagereply, want 0", n)
	}
	if e, err := h.ledger.Get(context.Background(), r.PageID, r.Target); err != nil || e.MessageID != answer {
		t.Errorf("entry %+v %v, want sent with the Page's answer %s", e, err, answer)
	}
}
