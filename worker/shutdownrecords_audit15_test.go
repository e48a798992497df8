package worker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// answerLostGraph is the sandbox's Graph whose sends are held until release
// is closed and then come back with no answer (the request may have left).
type answerLostGraph struct {
	worker.Graph
	called  chan struct{}
	release chan struct{}
}

func (g *answerLostGraph) SendPrivateReply(ctx context.Context, _, _ string, _ graph.Recipient, _ string) (graph.SendResult, error) {
	select {
	case g.called <- struct{}{}:
	default:
	}
	<-g.release
	return graph.SendResult{}, errors.New("connection reset after the request was written")
}

// TestShutdownLeavesNoRecordWriting_audit15: a send whose answer was lost
// while the ledger's Redis is away is recorded unknown by writing again for
// up to tasks.ServerRetryFor (20 s). That record ran on a context of its
// own, so the worker's Shutdown returned with the handler still writing to
// Redis for most of those 20 s, past the point the process closes its
// clients. Shutdown now cuts such records off at the end of its drain (the
// target stays claimed, and its claim's lease makes the next attempt ask
// Graph first) and returns only once the handler has stopped: after it
// returns, the ledger's client sends nothing more.
func TestShutdownLeavesNoRecordWriting_audit15(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1501})
	cut := redistest.NewCut(t, h.db.Addr)
	rdb := tasks.NewRedisClient(asynq.RedisClientOpt{Addr: cut.Addr(), DB: h.db.DB})
	var sent redistest.Counter
	rdb.AddHook(&sent)
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true})
	t.Cleanup(func() { ledger.Close(); _ = rdb.Close() })
	g := &answerLostGraph{called: make(chan struct{}, 1), release: make(chan struct{})}
	w := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		g.Graph = p.Graph
		p.Graph, p.Ledger, p.ShutdownTimeout = g, ledger, 2*time.Second
	})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.enqueueAll(t, []tasks.Reply{r})
	waitClosed(t, g.called, "the reply was never sent")
	total := func() int64 { return sent.Single.Load() + sent.Pipelines.Load() }
	cut.Down()
	before := total()
	close(g.release)
	// The handler is writing its record again and again while Redis is away.
	for deadline := time.Now().Add(10 * time.Second); total() < before+3; {
		if time.Now().After(deadline) {
			t.Fatalf("the lost answer's record was not being written again (%d commands since Redis went away)", total()-before)
		}
		time.Sleep(10 * time.Millisecond)
	}
	w.Shutdown(context.Background())
	after := total()
	time.Sleep(3 * time.Second) // several of the record's retries, had it gone on
	if n := total() - after; n > 0 {
		t.Fatalf("the ledger's client sent %d commands after the worker's Shutdown returned", n)
	}
}
