package worker_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/graphtest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// askingProxy is the proxy in front of the harness's sandbox answering 503
// with Retry-After (graphtest.AskingProxy).
type askingProxy struct{ *graphtest.AskingProxy }

func newAskingProxy(t *testing.T, h *harness, match func(*http.Request) bool) (*askingProxy, *graph.Client) {
	t.Helper()
	p, g := graphtest.NewAskingProxy(t, h.sb, match)
	return &askingProxy{p}, g
}

// waitAskedPause waits until the proxy has answered its 503 and page is
// paused as graph_down for it, as status shows a pause.
func (p *askingProxy) waitAskedPause(t *testing.T, h *harness, page string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		asked := p.Asked() > 0
		d, reason, err := h.ledger.Paused(context.Background(), page)
		if err != nil {
			t.Fatal(err)
		}
		if asked && d > 0 {
			if tasks.PauseKind(reason) != tasks.PauseGraphDown || !strings.Contains(reason, "retry after") {
				t.Errorf("page paused for %s: %q, want graph_down with Graph's wait", d, reason)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("page not paused after the 503 with Retry-After (asked %v)", asked)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReplyHonoursRetryAfter_audit22: a send answered 503 with Retry-After
// pauses its Page until then: neither the reply nor the Page's other
// replies call Graph before the time it asked for, and after it each is sent
// exactly once (the answered send's outcome unknown, it is checked first).
// Before, the reply was retried after its backoff (here the send's settle
// time, 1 s), and the others were sent at once.
func TestReplyHonoursRetryAfter_audit22(t *testing.T) {
	t.Parallel() // waits out the Retry-After; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 2201})
	rs := h.addComments(h.pages[0].ID, 3, "Thanks!")
	proxy, g := newAskingProxy(t, h, func(r *http.Request) bool { return r.Method == http.MethodPost })
	h.startWorkerOn(t, h.opt, 1, func(p *worker.Params) { p.Graph = g })
	h.enqueueAll(t, rs)
	proxy.waitAskedPause(t, h, h.pages[0].ID)
	h.waitSent(t, rs, 30*time.Second)
	proxy.Check(t)
	h.checkExactlyOnce(t, rs)
}

// TestConversationReplyHonoursRetryAfter_audit22: a conversation reply
// whose send went through but was answered 503 with Retry-After (its
// outcome unknown) waits with its Page until then, and is then checked
// before any send: the person gets one message, and nothing else (no
// "already replied" answer) would have stopped a second. Neither it nor
// the Page's other reply calls Graph before the time asked for.
func TestConversationReplyHonoursRetryAfter_audit22(t *testing.T) {
	t.Parallel() // waits out the Retry-After; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 20, Seed: 2203})
	rs := h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[:2]
	proxy, g := newAskingProxy(t, h, func(r *http.Request) bool { return r.Method == http.MethodPost })
	proxy.Deliver = true
	h.startWorkerOn(t, h.opt, 1, func(p *worker.Params) { p.Graph = g })
	h.enqueueAll(t, rs)
	proxy.waitAskedPause(t, h, h.pages[0].ID)
	h.waitSent(t, rs, 30*time.Second)
	proxy.Check(t)
	for _, r := range rs {
		if n := h.sb.SendCount(r.PSID); n != 1 {
			t.Errorf("%s got %d messages, want 1", r.PSID, n)
		}
	}
	if n := h.sb.Calls()[sandbox.EndpointObject]; n == 0 {
		t.Errorf("the delivered reply was not checked before sending again (calls %v)", h.sb.Calls())
	}
}

// TestReplyOutlastsRetryAfters_audit22: a reply whose sends Graph answers
// 503 with Retry-After more times than its retries (worker.max_retry 1
// here) waits each out with its Page, uses no retry for them, and is sent
// once Graph takes it. Before, each answer used a retry, and the reply was
// archived unsent after the second: the comment got no reply.
func TestReplyOutlastsRetryAfters_audit22(t *testing.T) {
	t.Parallel() // waits out the Retry-Afters; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 2204})
	rs := h.addComments(h.pages[0].ID, 1, "Thanks!")
	proxy, g := newAskingProxy(t, h, func(r *http.Request) bool { return r.Method == http.MethodPost })
	proxy.Times, proxy.Wait = 3, time.Second
	h.startWorkerOn(t, h.opt, 1, func(p *worker.Params) { p.Graph, p.MaxRetry = g, 1 })
	h.enqueueAll(t, rs)
	h.waitSent(t, rs, 30*time.Second)
	proxy.Check(t)
	h.checkExactlyOnce(t, rs)
}

// TestItemHonoursRetryAfter_audit22: a webhook item whose comment read is
// answered 503 with Retry-After pauses its Page until then, and reads the
// comment again after it, no sooner; its reply is sent exactly once. Before,
// the item was retried after its backoff (tens of milliseconds here).
func TestItemHonoursRetryAfter_audit22(t *testing.T) {
	t.Parallel() // waits out the Retry-After; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 2202})
	pages := pollPages(h)
	pages[0].DefaultText = "Thanks!"
	page := pages[0].ID
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "A post", time.Now().Add(-time.Hour))
	comment := h.sb.AddComment(post, sandbox.User{ID: "2202001", Name: "Ann Visitor"}, "hello", time.Now().Add(-time.Minute))
	proxy, g := newAskingProxy(t, h, func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+comment)
	})
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Graph, p.Pages = g, pages
		pp := h.pollParams(pages)
		pp.Graph = g
		p.Poll = worker.NewPollHandler(pp)
	})
	it := tasks.WebhookItem{PageID: page, Kind: tasks.KindComment, ID: comment, PostID: post}
	if out, err := h.enq.EnqueueWebhookItem(context.Background(), it); err != nil || out != tasks.Enqueued {
		t.Fatalf("enqueue webhook item: %v %v", out, err)
	}
	proxy.waitAskedPause(t, h, page)
	r := tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: comment}}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	proxy.Check(t)
	if n := h.sb.SendCount(comment); n != 1 {
		t.Errorf("the comment got %d replies, want 1", n)
	}
}
