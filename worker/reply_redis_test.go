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

// failSentMark is a failOnce of the next ledger write of a sent entry, as
// Redis fails it while it loads its data after a restart: the script call
// (EVALSHA or EVAL script, numkeys, keys...) whose first key is the Page's
// stats hash, the sent marks' (the script writes the value, "s|" and Redis's
// time, itself).
func failSentMark() *failOnce {
	return &failOnce{match: func(args []any) bool {
		if len(args) < 4 {
			return false
		}
		cmd, _ := args[0].(string)
		first, _ := args[3].(string)
		return strings.HasPrefix(strings.ToLower(cmd), "eval") && strings.HasSuffix(first, "}:stats")
	}}
}

// doubtGraph says an earlier attempt's reply exists, and arms the hook the
// first time it is asked.
type doubtGraph struct {
	worker.Graph
	hook  *failOnce
	asked atomic.Int32
	sends atomic.Int32
}

func (g *doubtGraph) PrivateReplyConversation(ctx context.Context, token, targetID string) (string, error) {
	if g.asked.Add(1) == 1 {
		g.hook.armed.Store(true)
	}
	return "t_1000", nil
}

func (g *doubtGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	g.sends.Add(1)
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestSettledDoubtRedisError: an attempt finds that an earlier one sent the
// reply, but Redis refuses to record it (loading after a restart). That is a
// failure to retry, not a permanent Graph error: the task is not archived,
// and a later attempt records the reply as sent, without sending another.
func TestSettledDoubtRedisError(t *testing.T) {
	t.Parallel() // mostly waits out the claim's lease
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 41})
	r := h.addComments(h.pages[0].ID, 1, "Hello")[0]
	ctx := context.Background()
	// An earlier attempt's answer was lost.
	if err := h.ledger.MarkUnknown(ctx, r.PageID, r.Target, 0); err != nil {
		t.Fatal(err)
	}
	hook := failSentMark()
	ledger := hook.ledger(t, h)
	hook.armed.Store(false) // armed by doubtGraph when it is first asked
	g := &doubtGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), hook: hook}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.Graph = ledger, g })
	if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
		t.Fatal(err)
	}

	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	deadline := time.Now().Add(40 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
		if err == nil && ti.State == asynq.TaskStateArchived {
			t.Fatalf("reply archived: %s", ti.LastErr)
		}
		e, gerr := h.ledger.Get(ctx, r.PageID, r.Target)
		if gerr == nil && e.Status == tasks.StatusSent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply not recorded as sent after 40s: task %+v %v, ledger %+v %v", ti, err, e, gerr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Counted where it is injected: the task's last error, polled, shows
	// it only until the next attempt's put-back replaces it, which a loaded
	// machine's poll could miss.
	if hook.failed.Load() == 0 {
		t.Error("the Redis error was never seen: the test proves nothing")
	}
	if n := g.sends.Load(); n != 0 {
		t.Errorf("%d sends for a reply Graph already had", n)
	}
	if n := g.asked.Load(); n != 2 {
		t.Errorf("Graph asked %d times whether the reply exists, want 2", n)
	}
}

// flakyCheckGraph fails the first check for an earlier attempt's reply with
// a transient error; later checks find none.
type flakyCheckGraph struct {
	worker.Graph
	asked atomic.Int32
}

func (g *flakyCheckGraph) PrivateReplyConversation(ctx context.Context, token, targetID string) (string, error) {
	if g.asked.Add(1) == 1 {
		return "", &graph.Error{HTTPStatus: 500, Code: 2, IsTransient: true, Message: "flaky", Class: graph.ClassTransient}
	}
	return "", nil
}

// TestDoubtSurvivesFailedCheck: when the check for an earlier attempt's
// reply fails, the next attempt checks again before it sends, instead of
// sending blind and counting on Graph's 10900.
func TestDoubtSurvivesFailedCheck(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 43})
	r := h.addComments(h.pages[0].ID, 1, "Hello")[0]
	ctx := context.Background()
	if err := h.ledger.MarkUnknown(ctx, r.PageID, r.Target, 0); err != nil {
		t.Fatal(err)
	}
	g := &flakyCheckGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = g })
	if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := g.asked.Load(); n != 2 {
		t.Errorf("Graph asked %d times whether an earlier attempt sent the reply, want 2 (the failed check, then again)", n)
	}
	h.checkExactlyOnce(t, []tasks.Reply{r})
}
