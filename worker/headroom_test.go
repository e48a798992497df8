package worker_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// pausingGraph fails the first send with Graph's code 2 (transient) and, in
// the same moment, another worker's answer pauses the Page for pause.
type pausingGraph struct {
	worker.Graph
	h     *harness
	page  string
	pause time.Duration
	sends atomic.Int32
}

func (g *pausingGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	if g.sends.Add(1) == 1 {
		if _, err := g.h.ledger.Pause(context.Background(), g.page, g.pause, tasks.PauseThrottled+": (#32) page request limit reached"); err != nil {
			panic(err)
		}
		return graph.SendResult{}, &graph.Error{HTTPStatus: 500, Code: 2, Class: graph.ClassTransient, Message: "An unexpected error has occurred. Please retry your request later."}
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestPutBackAfterMaxRetryRaised: worker.max_retry raised by a restart (or
// a rolling change where the API and scheduler still run the old value): a
// reply queued under max_retry 0 fails once, and its next run, which its
// worker (max_retry 5) still owes it, finds the Page paused and is put back.
// Before, asynq's limit was max_retry + 1 (1): the task was at it after one
// failure, and asynq archives any error there, a put-back that uses no retry
// included; the reply was archived ("put back …: page paused") and not sent
// when the pause ended. asynq's limit has tasks.ReplyRetryHeadroom now, and
// the worker archives at its own max_retry.
func TestPutBackAfterMaxRetryRaised(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 41})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.enq.MaxRetry = 0 // the enqueuer's config: max_retry 0
	g := &pausingGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), h: h, page: r.PageID, pause: time.Second}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph, p.MaxRetry = g, 5 })
	if o, _, err := h.enq.Enqueue(context.Background(), r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	ti := h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateArchived, asynq.TaskStateCompleted)
	if ti.State == asynq.TaskStateArchived {
		t.Fatalf("reply archived after %d failure(s) of the 5 its worker allows, by a put-back: %q", ti.Retried, ti.LastErr)
	}
	if !strings.Contains(ti.LastErr, "page paused") {
		t.Errorf("last error %q: the run after the failure was not put back for the pause (the test did not test it)", ti.LastErr)
	}
	h.checkExactlyOnce(t, []tasks.Reply{r})
}

// panicGraph panics at every send, after dropping the send's claim on its
// target (the ledger entry), so that the next run need not wait for the
// claim's lease to end.
type panicGraph struct {
	worker.Graph
	h     *harness
	sends atomic.Int32
}

func (g *panicGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	g.sends.Add(1)
	g.h.ledger.Client().Del(ctx, g.h.ledger.PageKey(pageID, "t:"+tasks.Target{Kind: tasks.KindComment, ID: to.CommentID}.String()))
	panic("boom")
}

// TestPanicArchivedAtMaxRetry: a failure that does not go through the
// worker's own count (a panic in the reply handler) is archived at
// worker.max_retry like any other. It is not counted as a task out of
// retries: that count (tasks.MaxReplacements) is for replies Graph keeps
// refusing, and a panic is this program's fault, not Graph's answer.
// asynq's limit is tasks.ReplyRetryHeadroom above max_retry: without the
// worker's count, such a reply would be run max_retry + 21 times. (Before the
// headroom, asynq archived it one run late: 3 runs at max_retry 1.)
func TestPanicArchivedAtMaxRetry(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 43})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.enq.MaxRetry = 1
	g := &panicGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), h: h}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Graph, p.MaxRetry = g, 1
		p.BackoffBase, p.BackoffMax = 10*time.Millisecond, 20*time.Millisecond
	})
	if o, _, err := h.enq.Enqueue(context.Background(), r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	ti := h.waitArchived(t, r, 30*time.Second)
	last, _, _ := strings.Cut(ti.LastErr, "\n") // the panic's stack follows
	if n := g.sends.Load(); n != 2 {
		t.Errorf("a panicking reply ran %d times, want 2 (max_retry 1); last error %q", n, last)
	}
	if !strings.Contains(last, "panic") || !strings.Contains(ti.LastErr, "after 1 retries") {
		t.Errorf("last error %q, want the panic, archived after 1 retry", last)
	}
	if v, _ := h.ledger.Client().Get(context.Background(), h.ledger.PageKey(r.PageID, "ranout:"+r.Target.String())).Result(); v != "" {
		t.Errorf("count of the target's tasks out of retries %q, want none (not Graph's refusal)", v)
	}
}
