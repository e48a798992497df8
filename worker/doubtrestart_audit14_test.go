package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// lostAnswerRestart is a Graph whose first send kills the ledger's Redis
// (no persistence) just before it reaches Graph, which takes it and loses
// its answer (sandbox DropRate); Redis starts again, empty, down later.
type lostAnswerRestart struct {
	worker.Graph
	sb   *sandbox.Sandbox
	rs   *redisproc.Server
	down time.Duration
	once sync.Once
	back chan struct{}
}

func (g *lostAnswerRestart) first(send func() (graph.SendResult, error)) (graph.SendResult, error) {
	var res graph.SendResult
	var err error
	ran := false
	g.once.Do(func() {
		ran = true
		g.rs.Kill()
		go func() {
			defer close(g.back)
			time.Sleep(g.down)
			g.rs.Restart()
		}()
		g.sb.SetFaults(sandbox.Faults{DropRate: 1})
		res, err = send()
		g.sb.SetFaults(sandbox.Faults{})
	})
	if ran {
		return res, err
	}
	return send()
}

func (g *lostAnswerRestart) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	return g.first(func() (graph.SendResult, error) { return g.Graph.SendPrivateReply(ctx, token, pageID, to, text) })
}

func (g *lostAnswerRestart) SendMessage(ctx context.Context, token, pageID, psid, text string) (graph.SendResult, error) {
	return g.first(func() (graph.SendResult, error) { return g.Graph.SendMessage(ctx, token, pageID, psid, text) })
}

// TestDoubtOutlastsRedisRestart_audit14: a send whose answer is lost (Graph
// took it) while the ledger's Redis is away, coming back empty 8 s later:
// the worker keeps trying to record the doubt while Redis is away, so the
// doubt lands on the restarted Redis and the next attempt asks Graph before
// it sends, and finds the reply. Before, the doubt's record was given up
// after 5 s; the claim was gone with Redis's data, and the next attempt sent
// again: Graph's 10900 for a comment, a second Messenger message for a
// conversation reply.
func TestDoubtOutlastsRedisRestart_audit14(t *testing.T) {
	t.Parallel() // mostly waits for the Redis it restarts
	t.Run("comment", func(t *testing.T) { t.Parallel(); doubtOutlastsRestart(t, false) })
	t.Run("conversation", func(t *testing.T) { t.Parallel(); doubtOutlastsRestart(t, true) })
}

func doubtOutlastsRestart(t *testing.T, conversation bool) {
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 5, Seed: 1421})
	rs, ledger := ownLedger(t)
	g := &lostAnswerRestart{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}),
		sb: h.sb, rs: rs, down: 8 * time.Second, back: make(chan struct{})}
	r := h.addComments(h.pages[0].ID, 1, "Hello")[0]
	if conversation {
		r = h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.Graph = ledger, g })
	h.enqueueAll(t, []tasks.Reply{r})

	waitClosed(t, g.back, "the send never came")
	h.waitSentOn(t, ledger, []tasks.Reply{r}, 40*time.Second)
	if !conversation {
		h.checkExactlyOnce(t, []tasks.Reply{r})
	} else if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("the person got %d messages, want 1", n)
	}
}
