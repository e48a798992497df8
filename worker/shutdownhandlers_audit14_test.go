package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
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

// TestShutdownSendsNoMore_audit14: a reply still waiting for its send slot
// when its worker begins to stop does not start its send once the slot
// comes, however much of the drain is left: its send could be cut off when
// the drain runs out, leaving its outcome unknown (a settle time, then a
// Graph check, before anyone sends it). It goes back to the queue, no retry
// used, its claim given back, and the next worker sends it.
func TestShutdownSendsNoMore_audit14(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1404})
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 1, Per: time.Second}, 1
	page := h.pages[0].ID
	rs := h.addComments(page, 4, "Thanks!")
	lim := worker.LimitOf(&h.pages[0], 10*time.Second)
	for _, o := range rs[1:] { // three other replies took the next send slots
		if res, err := h.ledger.Reserve(context.Background(), page, o.Target, tasks.NewToken(), time.Minute, lim); err != nil || res.Outcome != tasks.ReserveGo {
			t.Fatalf("reserve: %+v %v", res, err)
		}
	}
	r := rs[0]
	h.enqueueAll(t, []tasks.Reply{r})
	w := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.MaxWait, p.ShutdownTimeout = 10*time.Second, 8*time.Second })
	waitClaimed(t, h, r)
	w.Shutdown(context.Background()) // the slot comes about 3s into the drain
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Fatalf("%d sends made by a worker that was stopping", n)
	}
	e, err := h.ledger.Get(context.Background(), r.PageID, r.Target)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != tasks.StatusNone {
		t.Errorf("the stopped worker's claim is still held after Shutdown (entry %+v)", e)
	}
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
	if err != nil {
		t.Fatal(err)
	}
	if ti.Retried != 0 || (ti.State != asynq.TaskStateRetry && ti.State != asynq.TaskStatePending) {
		t.Fatalf("the reply put back at shutdown is %s after %d retries (%s), want back on the queue, none used", ti.State, ti.Retried, ti.LastErr)
	}
	h.startWorker(t, 2)
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
}
