package worker_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// pageGoneProxy stands in front of the harness's sandbox and answers a send
// with Graph's 100/33 naming the Page itself (page broken since eca7054),
// when the send is to the comment bad, or to anyone while all is set: Meta
// answering one recipient with what reads as the Page's error, or the Page
// really unreachable. Every other call reaches the sandbox.
func pageGoneProxy(t *testing.T, h *harness, page, bad string, all *atomic.Bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/"+page+"/messages") {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			if all.Load() || strings.Contains(form.Get("recipient"), bad) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":{"message":"Unsupported post request. Object with ID '`+page+
					`' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",`+
					`"type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"AbC"}}`)
				return
			}
		}
		h.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// brokenReplyRun starts a worker on the harness whose Graph is the proxy, and
// returns a function that runs a reply's task now and waits until it is
// put back with the Page paused as broken again.
func brokenReplyRun(t *testing.T, h *harness, proxy *httptest.Server, page string) (insp *asynq.Inspector, runBroken func(r tasks.Reply)) {
	t.Helper()
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) {
		p.Graph = graph.New(graph.Config{BaseURL: proxy.URL, Timeout: 2 * time.Second})
	})
	insp = asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	runBroken = func(r tasks.Reply) {
		t.Helper()
		if err := insp.RunTask(tasks.QueueReplies, r.Target.String()); err != nil {
			t.Fatal(err)
		}
		waitBrokenPause(t, h, page)
		h.waitPutBack(t, r, 10*time.Second, nil)
	}
	return insp, runBroken
}

// waitBrokenPause waits until page has a page_broken pause.
func waitBrokenPause(t *testing.T, h *harness, page string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		d, reason, err := h.ledger.Paused(context.Background(), page)
		if err != nil {
			t.Fatal(err)
		}
		if d > 0 {
			if tasks.PauseKind(reason) != tasks.PausePageBroken {
				t.Fatalf("page paused as %q, want page_broken", reason)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("page never paused as broken")
		}
	}
}

// TestOneReplyPageBrokenLoopEnds_audit12: a reply that Graph answers with a
// page-broken error while the Page's other replies are sent between its
// attempts (the error is the reply's, not the Page's) is archived with its
// reason at its third such answer, and pauses the Page no more; before, it
// paused the Page after every pause, forever, never archived. It also goes
// back behind the replies put back for the pause it caused.
func TestOneReplyPageBrokenLoopEnds_audit12(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1207})
	page := h.pages[0].ID
	rs := h.addComments(page, 3, "Hi")
	bad := rs[0]
	proxy := pageGoneProxy(t, h, page, bad.Target.ID, new(atomic.Bool))
	insp, runBroken := brokenReplyRun(t, h, proxy, page)
	ctx := context.Background()

	// First answer: the Page is paused, the reply kept.
	h.enqueueAll(t, []tasks.Reply{bad})
	waitBrokenPause(t, h, page)
	h.waitPutBack(t, bad, 10*time.Second, nil)
	// A reply queued during the pause comes back at its end; the one that
	// caused it after that one.
	h.enqueueAll(t, []tasks.Reply{rs[1]})
	other := h.waitTask(t, rs[1], 10*time.Second, nil, asynq.TaskStateRetry)
	badTask := h.waitTask(t, bad, 10*time.Second, nil, asynq.TaskStateRetry)
	if !badTask.NextProcessAt.After(other.NextProcessAt) {
		t.Errorf("the reply that paused the Page comes back at %s, before the one put back for the pause (%s)",
			badTask.NextProcessAt, other.NextProcessAt)
	}

	for round, next := range []tasks.Reply{rs[1], rs[2]} {
		// The pause runs out; another reply of the Page is sent; the bad
		// reply is tried again.
		if err := h.ledger.Resume(ctx, page); err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			if err := insp.RunTask(tasks.QueueReplies, next.Target.String()); err != nil {
				t.Fatal(err)
			}
		} else {
			h.enqueueAll(t, []tasks.Reply{next})
		}
		h.waitSent(t, []tasks.Reply{next}, 10*time.Second)
		if round == 0 {
			// Second answer: after another reply was sent, but one such
			// answer proves little: the Page is paused again.
			runBroken(bad)
			continue
		}
		if err := insp.RunTask(tasks.QueueReplies, bad.Target.String()); err != nil {
			t.Fatal(err)
		}
	}
	ti := h.waitArchived(t, bad, 10*time.Second)
	if !strings.Contains(ti.LastErr, "taken as the reply's, not the Page's") || !strings.Contains(ti.LastErr, "100") {
		t.Errorf("archived with %q, want the reason and Graph's answer", ti.LastErr)
	}
	if d, reason, err := h.ledger.Paused(ctx, page); err != nil || d > 0 {
		t.Errorf("page paused (%s, %q, %v) by the answer taken as the reply's", d, reason, err)
	}
	e, err := h.ledger.Get(ctx, page, bad.Target)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != tasks.StatusFailed {
		t.Errorf("ledger has the archived reply as %v, want failed", e.Status)
	}
}

// TestBrokenPageKeepsReplies_audit12: on a Page that is really broken (every
// send gets the page-broken answer, nothing is sent between), a reply's
// page-broken answers pause the Page each time and the reply is kept, never
// archived, however many times it runs.
func TestBrokenPageKeepsReplies_audit12(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1208})
	page := h.pages[0].ID
	rs := h.addComments(page, 2, "Hi")
	all := new(atomic.Bool)
	all.Store(true)
	proxy := pageGoneProxy(t, h, page, "none", all)
	_, runBroken := brokenReplyRun(t, h, proxy, page)
	ctx := context.Background()
	h.enqueueAll(t, rs[:1])
	waitBrokenPause(t, h, page)
	h.waitPutBack(t, rs[0], 10*time.Second, nil)
	for range 2 * 2 {
		if err := h.ledger.Resume(ctx, page); err != nil {
			t.Fatal(err)
		}
		runBroken(rs[0])
	}
	// The Page fixed, the reply kept goes out.
	all.Store(false)
	if err := h.ledger.Resume(ctx, page); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if err := insp.RunTask(tasks.QueueReplies, rs[0].Target.String()); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, rs[:1], 10*time.Second)
}
