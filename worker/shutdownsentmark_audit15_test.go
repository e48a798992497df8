package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// answerAtAbort is the sandbox's Graph, whose first send is held until the
// call's context ends (asynq's shutdown timeout ran out) and then goes
// through: Graph took it, and its answer came back as the call was cut off.
type answerAtAbort struct {
	worker.Graph
	called chan struct{}
}

func (g *answerAtAbort) hold(ctx context.Context) {
	select {
	case g.called <- struct{}{}:
	default:
	}
	<-ctx.Done()
}

func (g *answerAtAbort) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	g.hold(ctx)
	return g.Graph.SendPrivateReply(context.Background(), token, pageID, to, text)
}

func (g *answerAtAbort) SendMessage(ctx context.Context, token, pageID, psid, text string) (graph.SendResult, error) {
	g.hold(ctx)
	return g.Graph.SendMessage(context.Background(), token, pageID, psid, text)
}

// TestSentMarkAtShutdown_audit15: a reply Graph took just as the worker's
// drain ran out (asynq put the task back and canceled the handler's context)
// is recorded sent before Shutdown returns, and a conversation reply's
// person record with it: Shutdown waits for such a handler's records
// (stopGrace). Before, the records were written with the handler's context,
// already canceled: they failed at once ("context canceled"), the target
// stayed claimed until its lease ran out, and the person had no record of
// the reply, so a Redis that then lost its data, or a person's second
// message checked by the person record, got a second reply. (A comment's
// mark on a batching ledger went through all the same, the batcher sending
// a call whose caller gave up: the comment runs on a ledger that does not
// batch.)
func TestSentMarkAtShutdown_audit15(t *testing.T) {
	for _, conversation := range []bool{false, true} {
		name := map[bool]string{false: "comment", true: "conversation"}[conversation]
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 5, Seed: 1501})
			g := &answerAtAbort{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), called: make(chan struct{}, 1)}
			ledger := h.ledger
			if !conversation {
				ledger = tasks.NewLedger(h.db.Client, tasks.LedgerOptions{})
			}
			r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
			if conversation {
				r = h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
			}
			shutdownAtCall(t, h, g, g.called, ledger, r)
			ctx := context.Background()
			if conversation {
				if n, err := h.db.Client.Exists(ctx, h.ledger.PageKey(r.PageID, "p:"+r.PSID+":s")).Result(); err != nil || n != 1 {
					t.Errorf("the person's record of the reply after Shutdown: %d %v, want it written", n, err)
				}
			}
		})
	}
}

// shutdownAtCall starts a worker on g and ledger, queues r, shuts the worker
// down once g was called (called), and checks that r's target is recorded
// sent after Shutdown returned.
func shutdownAtCall(t *testing.T, h *harness, g worker.Graph, called <-chan struct{}, ledger *tasks.Ledger, r tasks.Reply) {
	t.Helper()
	w := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph, p.Ledger, p.ShutdownTimeout = g, ledger, 4*time.Second })
	h.enqueueAll(t, []tasks.Reply{r})
	waitClosed(t, called, "Graph was never asked")
	w.Shutdown(context.Background())
	v := h.db.Client.Get(context.Background(), h.ledger.PageKey(r.PageID, "t:"+r.Target.String())).Val()
	if !strings.HasPrefix(v, "s|") {
		t.Errorf("ledger entry of a reply Graph holds, after Shutdown: %q, want it recorded sent (s|...)", v)
	}
}
