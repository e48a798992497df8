package worker_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/intake"
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

const appNotLiveBody = `{"error":{"message":"(#10) Cannot message users who are not admins, developers or testers of the app until pages_messaging permission is reviewed and the app is live.","type":"OAuthException","code":10,"error_subcode":2018028,"fbtrace_id":"AbC"}}`

// refusedThenRunAgain starts a worker whose Graph refuses sends with status
// and body until the app goes live, queues one comment's reply (made by
// edit, if given, before it is queued), waits for it to be archived as
// failed, then sets the app live and, after beforeRun (if given), runs the
// reply again from the archive as the monitor does (asynqmon's run is the
// Inspector's RunTask).
func refusedThenRunAgain(t *testing.T, seed int64, status int, body string, edit func(*harness, *tasks.Reply), beforeRun func()) (*harness, tasks.Reply, *liveGraph, *asynq.Inspector) {
	t.Helper()
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	page := h.pages[0].ID
	r := h.addComments(page, 1, "Thanks")[0]
	if edit != nil {
		edit(h, &r)
	}
	g := &liveGraph{
		Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}),
		meta:  answeringGraph(t, status, body),
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
	g.live.Store(true)
	if beforeRun != nil {
		beforeRun()
	}
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if err := insp.RunTask(tasks.QueueReplies, r.Target.String()); err != nil {
		t.Fatal(err)
	}
	return h, r, g, insp
}

// wantArchivedAgain waits for r's task to be archived again as failed for
// good earlier, its ledger entry still failed with the reason it had.
func wantArchivedAgain(t *testing.T, h *harness, r tasks.Reply, insp *asynq.Inspector, reason string) {
	t.Helper()
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
	if e, err := h.ledger.Get(context.Background(), r.PageID, r.Target); err != nil || e.Status != tasks.StatusFailed || !strings.Contains(e.Reason, reason) {
		t.Fatalf("ledger entry %+v %v, want failed with %q", e, err, reason)
	}
}

// TestAppNotLiveRunAgainOnceLive_audit16: a reply Meta refused because the
// app was not live for the person (10/2018028) is archived, and README says
// it can be run again from the monitor's archive once the app is live. The
// ledger held its target failed for good, so the run found it "failed for
// good earlier" and archived it again without a send: the reply was lost.
// Run again, it is sent now.
func TestAppNotLiveRunAgainOnceLive_audit16(t *testing.T) {
	h, r, g, _ := refusedThenRunAgain(t, 48, http.StatusForbidden, appNotLiveBody, nil, nil)
	h.waitSent(t, []tasks.Reply{r}, 20*time.Second)
	if n := g.refused.Load(); n != 1 {
		t.Errorf("%d refused sends, want 1", n)
	}
}

// TestOtherPersonRefusalRunAgainStaysFailed_audit16: only the app-not-live
// refusal's failed mark gives way to a run again; a reply refused for good
// about its person otherwise (200/1545041) is archived again with no send.
func TestOtherPersonRefusalRunAgainStaysFailed_audit16(t *testing.T) {
	h, r, _, insp := refusedThenRunAgain(t, 49, http.StatusBadRequest,
		`{"error":{"message":"(#200) Message Not Sent: This person isn't available right now.","type":"OAuthException","code":200,"error_subcode":1545041,"fbtrace_id":"AbC"}}`, nil, nil)
	wantArchivedAgain(t, h, r, insp, "1545041")
}

// TestAppNotLiveRunAgainPastWindowStaysFailed_audit16: an app-not-live
// refusal run again after the reply's window ended is archived again as
// failed for good, its ledger entry kept: the failed mark was dropped first
// and the window's archive then left no record of the refusal at all (the
// next poll skips the comment as too old either way; nothing was sent).
func TestAppNotLiveRunAgainPastWindowStaysFailed_audit16(t *testing.T) {
	const margin = 8 * time.Second
	var closes time.Time
	written := func(h *harness, r *tasks.Reply) {
		// Written so that its window closes a moment after the first run.
		win := intake.Window(&h.pages[0], r.Target.Kind)
		closes = time.Now().Add(margin)
		r.Created = closes.Add(-win).UnixMilli()
	}
	h, r, _, insp := refusedThenRunAgain(t, 50, http.StatusForbidden, appNotLiveBody, written, func() {
		if time.Now().After(closes) {
			t.Skip("the first run came after the window closed (a slow machine)")
		}
		time.Sleep(time.Until(closes) + 500*time.Millisecond)
	})
	wantArchivedAgain(t, h, r, insp, "2018028")
}
