package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
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

// liveGraph refuses sends as Meta does to someone without a role on an app
// that is not live (10/2018028) until live is set.
type liveGraph struct {
	worker.Graph
	meta    worker.Graph
	live    atomic.Bool
	refused atomic.Int32
}

func (g *liveGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	if !g.live.Load() {
		g.refused.Add(1)
		return g.meta.SendPrivateReply(ctx, token, pageID, to, text)
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestAppNotLiveRunAgainOnceLive_audit16: a reply Meta refused because the
// app was not live for the person (10/2018028) is archived, and README says
// it can be run again from the monitor's archive once the app is live. The
// ledger held its target failed for good, so the run found it "failed for
// good earlier" and archived it again without a send: the reply was lost.
// Run again, it is sent now.
func TestAppNotLiveRunAgainOnceLive_audit16(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 48})
	page := h.pages[0].ID
	r := h.addComments(page, 1, "Thanks")[0]
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":{"message":"(#10) Cannot message users who are not admins, developers or testers of the app until pages_messaging permission is reviewed and the app is live.","type":"OAuthException","code":10,"error_subcode":2018028,"fbtrace_id":"AbC"}}`))
	}))
	t.Cleanup(meta.Close)
	g := &liveGraph{
		Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}),
		meta:  graph.New(graph.Config{BaseURL: meta.URL, Timeout: 2 * time.Second}),
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = g })
	ctx := context.Background()
	if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
		t.Fatal(err)
	}
	h.waitArchived(t, r, 20*time.Second)
	if e, err := h.ledger.Get(ctx, page, r.Target); err != nil || e.Status != tasks.StatusFailed {
		t.Fatalf("ledger entry %+v %v, want failed", e, err)
	}

	// The app goes live; the operator runs the reply again from the
	// monitor's archive (asynqmon's run is the Inspector's RunTask).
	g.live.Store(true)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if err := insp.RunTask(tasks.QueueReplies, r.Target.String()); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{r}, 20*time.Second)
	if n := g.refused.Load(); n != 1 {
		t.Errorf("%d refused sends, want 1", n)
	}
}

// TestOtherPersonRefusalRunAgainStaysFailed_audit16: only the app-not-live
// refusal's failed mark gives way to a run again; a reply refused for good
// about its person otherwise (200/1545041) is archived again with no send.
func TestOtherPersonRefusalRunAgainStaysFailed_audit16(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 49})
	page := h.pages[0].ID
	r := h.addComments(page, 1, "Thanks")[0]
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(`{"error":{"message":"(#200) Message Not Sent: This person isn't available right now.","type":"OAuthException","code":200,"error_subcode":1545041,"fbtrace_id":"AbC"}}`))
	}))
	t.Cleanup(meta.Close)
	g := &liveGraph{
		Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}),
		meta:  graph.New(graph.Config{BaseURL: meta.URL, Timeout: 2 * time.Second}),
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = g })
	ctx := context.Background()
	if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
		t.Fatal(err)
	}
	h.waitArchived(t, r, 20*time.Second)
	g.live.Store(true)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if err := insp.RunTask(tasks.QueueReplies, r.Target.String()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
		if err == nil && ti.State == asynq.TaskStateArchived && strings.Contains(ti.LastErr, "failed for good earlier") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not archived again as failed for good earlier: %+v %v", ti, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if e, err := h.ledger.Get(ctx, page, r.Target); err != nil || e.Status != tasks.StatusFailed {
		t.Fatalf("ledger entry %+v %v, want failed", e, err)
	}
}
