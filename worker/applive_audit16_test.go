package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestAppNotLiveKeepsPageRunning_audit16: an app with Standard Access (not
// through App Review) may message only the people with a role on it, and
// Meta refuses a send to anyone else with code 10 (or 200), subcode
// 2018028, "Cannot message users who are not admins, developers or testers
// of the app until pages_messaging permission is reviewed and the app is
// live", while the app's testers get theirs. Such a reply is archived with
// Graph's reason and the Page goes on: classed page broken, one commenter
// without a role paused the Page, and the kept reply paused it again each
// time it ran, for its 7 days, holding back the replies the app may send.
func TestAppNotLiveKeepsPageRunning_audit16(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 47})
	page := h.pages[0].ID
	rs := h.addComments(page, 2, "Thanks")
	noRole, tester := rs[0], rs[1]
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"error":{"message":"(#10) Cannot message users who are not admins, developers or testers of the app until pages_messaging permission is reviewed and the app is live.","type":"OAuthException","code":10,"error_subcode":2018028,"fbtrace_id":"AbC"}}`))
	}))
	t.Cleanup(meta.Close)
	g := &personGraph{
		Graph:       graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}),
		meta:        graph.New(graph.Config{BaseURL: meta.URL, Timeout: 2 * time.Second}),
		unreachable: noRole.Target.ID,
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = g })
	ctx := context.Background()
	if _, _, err := h.enq.Enqueue(ctx, noRole); err != nil {
		t.Fatal(err)
	}
	if ti := h.waitArchived(t, noRole, 20*time.Second); !strings.Contains(ti.LastErr, "2018028") {
		t.Errorf("archived with %q, want the reason with Graph's subcode", ti.LastErr)
	}
	if d, reason, err := h.ledger.Paused(ctx, page); err != nil || d > 0 {
		t.Fatalf("Page paused for %s (%q, %v) by a reply to someone without a role on the app", d, reason, err)
	}
	if e, err := h.ledger.Get(ctx, page, noRole.Target); err != nil || e.Status != tasks.StatusFailed {
		t.Fatalf("ledger entry %+v %v, want failed", e, err)
	}
	// The tester's reply goes out now, not after a page-broken pause.
	if _, _, err := h.enq.Enqueue(ctx, tester); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{tester}, 10*time.Second)
	if n := g.refused.Load(); n != 1 {
		t.Errorf("%d sends to the person without a role, want 1", n)
	}
}
