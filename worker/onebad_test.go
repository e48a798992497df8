package worker_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// badTargetGraph fails every send to one comment with code, transient:
// Graph's per-message "Temporary send message failure" (1200, HTTP 400), or
// a 500 with code 2 as an outage gives.
type badTargetGraph struct {
	worker.Graph
	bad   string
	code  int
	sends atomic.Int32
}

func (g *badTargetGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	if to.CommentID == g.bad {
		g.sends.Add(1)
		if g.code == 1200 {
			return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 1200, Class: graph.ClassTransient, Message: "Temporary send message failure. Please try again later"}
		}
		return graph.SendResult{}, &graph.Error{HTTPStatus: 500, Code: 2, Class: graph.ClassTransient, Message: "Service temporarily unavailable"}
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestOneFailingReplyIsNoOutage: on a quiet Page, one reply whose own send
// keeps failing transiently (Graph's 1200 about that message, or even code 2)
// is not an outage: it uses its retries and ends archived after
// worker.max_retry failures, and its Page is never paused as graph_down.
// Were its own run of failures an outage, it would be put back without using
// retries for 7 days and pause its Page again and again, holding its polls.
func TestOneFailingReplyIsNoOutage(t *testing.T) {
	for _, code := range []int{1200, 2} {
		t.Run("code "+strconv.Itoa(code), func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 97})
			page := h.pages[0].ID
			rs := h.addComments(page, 1, "Thanks!")
			g := &badTargetGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), bad: rs[0].Target.ID, code: code}
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
				p.Graph, p.MaxRetry = g, 10
				p.BackoffBase, p.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
				p.OutagePause = 100 * time.Millisecond
			})
			ctx := context.Background()
			if o, _, err := h.enq.Enqueue(ctx, rs[0]); err != nil || o != tasks.Enqueued {
				t.Fatalf("enqueue: %v %v", o, err)
			}
			var downSeen time.Duration
			h.waitTask(t, rs[0], 30*time.Second, func() {
				if d, reason, _ := h.ledger.Paused(ctx, page); tasks.PauseKind(reason) == tasks.PauseGraphDown {
					downSeen = max(downSeen, d)
				}
			}, asynq.TaskStateArchived)
			if n := g.sends.Load(); n != 11 {
				t.Errorf("%d sends of the reply, want 11 (max_retry 10)", n)
			}
			if downSeen > 0 {
				t.Errorf("one failing reply paused the Page as graph_down (up to %s)", downSeen)
			}
		})
	}
}
