package worker_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// personGraph answers a send to one comment as Meta does for a person who
// cannot be reached (code 200, subcode 1545041), through the real client from
// a real HTTP answer; every other call goes to the sandbox.
type personGraph struct {
	worker.Graph
	unreachable string
	meta        worker.Graph
	refused     atomic.Int32
}

func (g *personGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	if to.CommentID == g.unreachable {
		g.refused.Add(1)
		return g.meta.SendPrivateReply(ctx, token, pageID, to, text)
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestPersonErrorKeepsPageRunning: Meta answers some sends about one person
// or one message under a Page-level code (10, 200). Such a reply is archived
// with the reason, and its Page goes on: were it classed as page broken, the
// Page would pause, the reply would come back after the pause and pause it
// again, and the Page's other replies would wait for as long as it lived.
func TestPersonErrorKeepsPageRunning(t *testing.T) {
	personRefusalKeepsPage(t, 43, http.StatusBadRequest,
		`{"error":{"message":"(#200) Message Not Sent: This person isn't available right now.","type":"OAuthException","code":200,"error_subcode":1545041,"fbtrace_id":"AbC"}}`, "1545041")
}

// personRefusalKeepsPage checks that a reply Graph refuses with body (a
// refusal about that one person, its HTTP status status) is archived with a
// reason holding sub, that its Page is not paused and that the Page's next
// reply goes out at once, the refused person sent to once.
func personRefusalKeepsPage(t *testing.T, seed int64, status int, body, sub string) {
	t.Helper()
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: seed})
	page := h.pages[0].ID
	rs := h.addComments(page, 2, "Thanks")
	refused, other := rs[0], rs[1]
	g := &personGraph{
		Graph:       graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}),
		meta:        answeringGraph(t, status, body),
		unreachable: refused.Target.ID,
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = g })
	ctx := context.Background()
	if _, _, err := h.enq.Enqueue(ctx, refused); err != nil {
		t.Fatal(err)
	}
	if ti := h.waitArchived(t, refused, 20*time.Second); !strings.Contains(ti.LastErr, sub) {
		t.Errorf("archived with %q, want the reason with Graph's subcode", ti.LastErr)
	}
	if d, reason, err := h.ledger.Paused(ctx, page); err != nil || d > 0 {
		t.Fatalf("Page paused for %s (%q, %v) by one person's refusal", d, reason, err)
	}
	if e, err := h.ledger.Get(ctx, page, refused.Target); err != nil || e.Status != tasks.StatusFailed {
		t.Fatalf("ledger entry %+v %v, want failed", e, err)
	}
	// The Page's next reply goes out now, not after a page-broken pause.
	if _, _, err := h.enq.Enqueue(ctx, other); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{other}, 10*time.Second)
	if n := g.refused.Load(); n != 1 {
		t.Errorf("%d sends to the refused person, want 1", n)
	}
}

// TestProxyPageIsNotGraphsAnswer: a 4xx that is not in Graph's JSON envelope
// (a proxy's 403 page, a 407) comes from something between pagereply and
// Graph and says nothing about the reply. The reply is tried again, after
// checking whether the send landed, and sent once the path to Graph is back:
// archived as permanent, it would be lost for good.
func TestProxyPageIsNotGraphsAnswer(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 47})
	page := h.pages[0].ID
	r := h.addComments(page, 1, "Thanks")[0]
	var refused atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/messages") && refused.Load() < 2 {
			refused.Add(1)
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte("<html><body><h1>403 Forbidden</h1>Request blocked by the proxy.</body></html>"))
			return
		}
		h.sb.ServeHTTP(w, req)
	}))
	t.Cleanup(proxy.Close)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Graph = graph.New(graph.Config{BaseURL: proxy.URL, Timeout: 2 * time.Second})
	})
	if o, _, err := h.enq.Enqueue(context.Background(), r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := refused.Load(); n != 2 {
		t.Errorf("the proxy refused %d sends, want 2", n)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 1 {
		t.Errorf("%s got %d replies, want 1", r.Target.ID, n)
	}
}

// answeringGraph is the real Graph client of a server that answers every
// call with status and body (Meta's refusal of a send, say).
func answeringGraph(t *testing.T, status int, body string) worker.Graph {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return graph.New(graph.Config{BaseURL: srv.URL, Timeout: 2 * time.Second})
}
