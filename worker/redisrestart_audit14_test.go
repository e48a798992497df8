package worker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// restartDuringSend is a Graph whose first send kills the ledger's Redis
// (no persistence: its keys are lost) just before it reaches Graph, and
// starts that Redis again, empty, down seconds later. With dropAnswer set,
// Graph takes that first send and its answer is lost (the sandbox's
// DropRate).
type restartDuringSend struct {
	worker.Graph
	rs         *redisproc.Server
	dropAnswer *sandbox.Sandbox
	down       time.Duration
	once       sync.Once
	back       chan struct{}
}

func (g *restartDuringSend) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	return g.first(func() (graph.SendResult, error) { return g.Graph.SendPrivateReply(ctx, token, pageID, to, text) })
}

func (g *restartDuringSend) SendMessage(ctx context.Context, token, pageID, psid, text string) (graph.SendResult, error) {
	return g.first(func() (graph.SendResult, error) { return g.Graph.SendMessage(ctx, token, pageID, psid, text) })
}

func (g *restartDuringSend) first(send func() (graph.SendResult, error)) (graph.SendResult, error) {
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
		if g.dropAnswer != nil {
			g.dropAnswer.SetFaults(sandbox.Faults{DropRate: 1})
			defer g.dropAnswer.SetFaults(sandbox.Faults{})
		}
		res, err = send()
	})
	if ran {
		return res, err
	}
	return send()
}

// TestSentMarkOutlastsRedisRestart_audit14: Redis (without persistence, as
// redis-server runs with no config file) restarts while a reply's send is in
// flight. Graph accepts the send; the ledger's Redis is away when the sent
// mark is written, and comes back empty 8 s later: the claim that would
// have made the next attempt ask Graph first is gone. The worker keeps
// trying to write the mark (the reply exists) while Redis is away, so the
// mark lands on the restarted Redis and the reply is not sent again. Before,
// the mark gave up after go-redis's own retries (well under a second); the
// reply went back to the queue, found no entry on the empty Redis, and was
// sent a second time: Graph's 10900 for a comment, a second Messenger
// message for a conversation reply (nothing refuses it).
func TestSentMarkOutlastsRedisRestart_audit14(t *testing.T) {
	t.Parallel() // mostly waits for the Redis it restarts
	t.Run("comment", func(t *testing.T) { t.Parallel(); outlastsRestart(t, false, false, 1414) })
	t.Run("conversation", func(t *testing.T) { t.Parallel(); outlastsRestart(t, true, false, 1414) })
}

// outlastsRestart sends one reply (a comment's, or a conversation's)
// through restartDuringSend, its answer lost with dropAnswer, and checks
// that it is recorded sent on the Redis that came back empty and that
// nobody got a second message.
func outlastsRestart(t *testing.T, conversation, dropAnswer bool, seed int64) {
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 5, Seed: seed})
	rs, ledger := ownLedger(t)
	g := &restartDuringSend{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}),
		rs: rs, down: 8 * time.Second, back: make(chan struct{})}
	if dropAnswer {
		g.dropAnswer = h.sb
	}
	r := h.addComments(h.pages[0].ID, 1, "Hello")[0]
	if conversation {
		r = h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.Graph = ledger, g })
	h.enqueueAll(t, []tasks.Reply{r})

	waitClosed(t, g.back, "the send never came")
	h.waitSentOn(t, ledger, []tasks.Reply{r}, 40*time.Second)
	// Let any put-back attempt run.
	h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateCompleted)
	if !conversation {
		h.checkExactlyOnce(t, []tasks.Reply{r})
	} else if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("the person got %d messages, want 1", n)
	}
}

// ownLedger starts a Redis of the test's own (no persistence, so a restart
// loses its data) and a batched ledger on it.
func ownLedger(t *testing.T) (*redisproc.Server, *tasks.Ledger) {
	t.Helper()
	rs := redisproc.Start(t, redisproc.Options{})
	ledger := tasks.NewLedger(tasks.NewRedisClient(asynq.RedisClientOpt{Addr: rs.Addr()}), tasks.LedgerOptions{Batch: true})
	t.Cleanup(ledger.Close)
	return rs, ledger
}

// waitClosed waits up to 30 s for ch to close, failing the test with what
// otherwise.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		t.Fatal(what)
	}
}
