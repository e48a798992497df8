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

// unwindingGraph is the sandbox's Graph, whose sends are held until their
// context ends and then take unwind to come back, as a call cut off
// mid-answer does on a slow or loaded host.
type unwindingGraph struct {
	worker.Graph
	called chan struct{}
	unwind time.Duration
}

func (g *unwindingGraph) SendPrivateReply(ctx context.Context, _, _ string, _ graph.Recipient, _ string) (graph.SendResult, error) {
	select {
	case g.called <- struct{}{}:
	default:
	}
	<-ctx.Done()
	time.Sleep(g.unwind)
	return graph.SendResult{}, ctx.Err()
}

// TestShutdownWaitsForHandlers_audit14: a reply whose send was in flight
// when asynq's shutdown timeout ran out is put back on the queue, and its
// handler, its context canceled, records the send's outcome as unknown. That
// record is made before Shutdown returns: the process closes its Redis
// clients right after (app.Close), and a record made later fails, leaving
// the target claimed until its lease runs out. (asynq does not wait for the
// handler of a task it puts back; the send here takes 200ms to come back
// once canceled, so that the handler's record comes after asynq is done.)
func TestShutdownWaitsForHandlers_audit14(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1401})
	rdb := tasks.NewRedisClient(h.opt)
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true})
	closed := false
	closeRedis := func() {
		if !closed {
			closed = true
			ledger.Close()
			_ = rdb.Close()
		}
	}
	t.Cleanup(closeRedis)
	g := &unwindingGraph{called: make(chan struct{}, 1), unwind: 200 * time.Millisecond}
	w := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Graph, p.Ledger, p.ShutdownTimeout = g, ledger, 2*time.Second
	})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.enqueueAll(t, []tasks.Reply{r})
	select {
	case <-g.called:
	case <-time.After(10 * time.Second):
		t.Fatal("the reply was never sent")
	}
	w.Shutdown(context.Background())
	closeRedis() // as the process does once the roles stopped
	time.Sleep(time.Second)
	v := h.db.Client.Get(context.Background(), h.ledger.PageKey(r.PageID, "t:"+r.Target.String())).Val()
	if !strings.HasPrefix(v, "u|") {
		t.Fatalf("ledger entry after Shutdown is %q, want the send's outcome recorded unknown (u|...)", v)
	}
}

// TestShutdownWhileLiftingStalePauses_audit14: the worker's check for stale
// page_broken pauses, lifting one and running the replies put back for it
// on the servers' client, while Shutdown closes that client: Shutdown waits
// for the check to end, which reads the client it was started with (run
// with -race: the check read the Worker's field that Shutdown sets to nil).
func TestShutdownWhileLiftingStalePauses_audit14(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1403})
	page := h.pages[0].ID
	const broken = "page_broken: (#190) Error validating access token: the session has been invalidated"
	own := tasks.NewLedger(h.db.Client, tasks.LedgerOptions{Batch: true, PageTokens: map[string]string{page: h.pages[0].AccessToken}})
	t.Cleanup(own.Close)
	for range 20 {
		w := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.StalePausesCheckedEvery = own, time.Millisecond })
		stop, done := make(chan struct{}), make(chan struct{})
		go func() { // a pause of another token, again and again
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				pauseWithToken(t, h, page, "EAABtheoldtokenthatbroke", broken)
			}
		}()
		time.Sleep(50 * time.Millisecond)
		w.Shutdown(context.Background())
		close(stop)
		<-done
	}
}
