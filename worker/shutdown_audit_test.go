package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// stuckGraph holds every send until release is closed, whatever its
// context says.
type stuckGraph struct {
	worker.Graph
	called  chan struct{}
	release chan struct{}
}

func (g *stuckGraph) SendPrivateReply(context.Context, string, string, graph.Recipient, string) (graph.SendResult, error) {
	select {
	case g.called <- struct{}{}:
	default:
	}
	<-g.release
	return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 1200, Class: graph.ClassTransient, Message: "Temporary send message failure. Please try again later"}
}

// TestShutdownPutsBackInFlight: Shutdown waits Params.ShutdownTimeout for a
// reply still in flight, not asynq's own default, then returns and the task
// is back on the queue, no retry used, for the next worker.
func TestShutdownPutsBackInFlight(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 92})
	g := &stuckGraph{called: make(chan struct{}, 1), release: make(chan struct{})}
	w := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph, p.ShutdownTimeout = g, 500*time.Millisecond })
	t.Cleanup(func() { close(g.release) }) // before the harness's cleanups
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.enqueueAll(t, []tasks.Reply{r})
	select {
	case <-g.called:
	case <-time.After(10 * time.Second):
		t.Fatal("the reply was never sent")
	}
	done := make(chan struct{})
	go func() {
		w.Shutdown(context.Background())
		close(done)
	}()
	// ShutdownTimeout is 500ms; asynq's default, 8s, is past this deadline.
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Error("Shutdown did not return within 5s of a ShutdownTimeout of 500ms")
		<-done // no second Shutdown (the cleanup's) while this one runs
	}
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
	if err != nil {
		t.Fatal(err)
	}
	if ti.State != asynq.TaskStatePending || ti.Retried != 0 {
		t.Fatalf("the reply in flight at shutdown is %s after %d retries, want pending, none used", ti.State, ti.Retried)
	}
}
