package worker_test

import (
	"context"
	"encoding/json"
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

// downGraph answers every send with a transient error while down (only
// the sends to comment only, when set), and counts the sends it was asked
// for. The error is a 500 with code 2, as an outage gives, or with code 1200
// Graph's "Temporary send message failure" about one message (HTTP 400).
type downGraph struct {
	worker.Graph
	down  atomic.Bool
	only  string
	code  int
	sends atomic.Int32
}

func (g *downGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	g.sends.Add(1)
	if g.down.Load() && (g.only == "" || to.CommentID == g.only) {
		if g.code == 1200 {
			return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 1200, Class: graph.ClassTransient, Message: "Temporary send message failure. Please try again later"}
		}
		return graph.SendResult{}, &graph.Error{HTTPStatus: 500, Code: 2, Class: graph.ClassTransient, Message: "An unexpected error has occurred. Please retry your request later."}
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestArchivedReplyQueuedAgain: a reply whose retries ran out on transient
// errors is archived, but it is still owed (no permanent Graph error said it
// cannot be sent). When a poll, a delivery or the API finds its target again,
// the enqueue replaces the archived task instead of answering "already
// queued" for as long as asynq keeps it (90 days), and the reply goes out once.
func TestArchivedReplyQueuedAgain(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 89})
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	h.enq.Inspector = insp
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	g := &downGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})}
	g.down.Store(true)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph, p.MaxRetry = g, 1 })
	ctx := context.Background()
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitArchived(t, r, 30*time.Second)

	g.down.Store(false)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue of an archived, unsent reply = %v %v, want enqueued", o, err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	h.checkExactlyOnce(t, []tasks.Reply{r})
	// Sent now: the ledger answers any later enqueue.
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.AlreadySent {
		t.Fatalf("enqueue after sent = %v %v", o, err)
	}
}

// TestRerunOfFailedReplyIsArchived: a reply Graph refused for good is marked
// failed in the ledger, then archived by asynq. When that archive does not
// reach Redis (a stall), asynq's recoverer brings the task back, and the
// rerun finds the ledger's failure: it archives the task again with the
// reason, without calling Graph, instead of completing it, which hid the
// failure from the monitor, the archived count and status.
func TestRerunOfFailedReplyIsArchived(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 61})
	ctx := context.Background()
	r := h.addComments(h.pages[0].ID, 1, "Thanks")[0]
	const reason = "graph: messages: (#10903) This activity can't be replied to [code 10903, http 400, class permanent]"
	if err := h.ledger.MarkFailed(ctx, r.PageID, r.Target, reason); err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.enq.Client.EnqueueContext(ctx, asynq.NewTask(tasks.TypeReply, payload),
		asynq.TaskID(r.Target.String()), asynq.Queue(tasks.QueueReplies), asynq.MaxRetry(3)); err != nil {
		t.Fatal(err)
	}
	h.startWorker(t, 2)
	ti := h.waitArchived(t, r, 20*time.Second)
	if !strings.Contains(ti.LastErr, "failed for good earlier") || !strings.Contains(ti.LastErr, "#10903") {
		t.Errorf("last error %q, want the recorded reason", ti.LastErr)
	}
	if n := h.sb.Calls()[sandbox.EndpointMessages]; n != 0 {
		t.Errorf("%d send calls, want none", n)
	}
}
