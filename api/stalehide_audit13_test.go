package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestReplyOnStaleHideMarkQueued_audit13: POST /v1/replies for a comment
// whose hide mark the webhook wrote while its Page had skip_hidden, turned
// off since, queues the reply (202) and it is sent, alone and in a batch:
// the Page answers its hidden comments now, as the poll's read, a webhook
// item and a queued reply already do (they drop such a mark). Before the
// fix it was answered 409 "archived", "Graph refused it for good", and the
// comment got no reply from the API.
func TestReplyOnStaleHideMarkQueued_audit13(t *testing.T) {
	// Its Page has no skip_hidden; its Enqueuer replaces a task completed
	// without a send, as pagereply's has (an Inspector).
	e := newEnv(t, func(p *api.Params) { p.Enqueuer.Inspector = p.Inspector })
	ctx := context.Background()
	cs := e.sb.AllComments(e.page.ID)
	one, inBatch, completed := cs[0].ID, cs[1].ID, cs[2].ID
	// completed's reply was queued before the hide, and its task completed
	// on the mark (the workers had skip_hidden then).
	body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, completed)
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body); st != http.StatusAccepted {
		t.Fatalf("reply: %d %v", st, m)
	}
	for _, c := range []string{one, inBatch, completed} {
		if ok, err := e.ledger.MarkHidden(ctx, e.page.ID, c, time.Time{}); err != nil || !ok {
			t.Fatalf("hide mark of %s: %v %v", c, ok, err)
		}
	}
	completeHidden(t, e, completed).Shutdown(context.Background())
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body); st != http.StatusAccepted {
		t.Errorf("reply asked again, its task completed on the stale hide mark: %d %v; want 202", st, m)
	}
	// GET says the mark is not final.
	if _, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+one, testToken, ""); m["state"] != "archived" ||
		!strings.HasPrefix(fmt.Sprint(m["last_error"]), tasks.HiddenReason) || !strings.Contains(fmt.Sprint(m["last_error"]), "POST /v1/replies queues") {
		t.Errorf("GET of a stale hide mark: %v; want archived, hidden by the Page, saying a POST queues its reply", m)
	}
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, one))
	if st != http.StatusAccepted || m["id"] != "comment:"+one {
		t.Errorf("reply on a stale hide mark: %d %v; want 202", st, m)
	}
	st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"replies":[{"page_id":%q,"comment_id":%q,"text":"hi"}]}`, e.page.ID, inBatch))
	if rs, _ := m["results"].([]any); st != http.StatusMultiStatus || len(rs) != 1 || rs[0].(map[string]any)["status"] != float64(http.StatusAccepted) {
		t.Errorf("batch reply on a stale hide mark: %d %v; want 207 with a 202", st, m)
	}
	startPlainWorker(t, e)
	for _, c := range []string{one, inBatch, completed} {
		deadline := time.Now().Add(20 * time.Second)
		for e.sb.SendCount(c) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := e.sb.SendCount(c); n != 1 {
			t.Errorf("%s got %d replies, want 1", c, n)
		}
		// The sandbox counts the send before the worker records it: GET
		// says sent once the ledger has it.
		var m map[string]any
		for {
			_, m = e.do(t, http.MethodGet, "/v1/replies/comment:"+c, testToken, "")
			if m["state"] == "sent" || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if m["state"] != "sent" {
			t.Errorf("GET %s: %v, want sent", c, m)
		}
	}
}

// TestReplyOnHideMarkRefused_audit13: on a Page that still has skip_hidden,
// a reply asked for a comment the Page hid is refused as before (409
// archived, the mark kept), alone and in a batch.
func TestReplyOnHideMarkRefused_audit13(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Pages[0].SkipHidden = true })
	ctx := context.Background()
	c := e.sb.AllComments(e.page.ID)[0].ID
	if ok, err := e.ledger.MarkHidden(ctx, e.page.ID, c, time.Time{}); err != nil || !ok {
		t.Fatalf("hide mark: %v %v", ok, err)
	}
	if _, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+c, testToken, ""); m["state"] != "archived" || m["last_error"] != tasks.HiddenReason {
		t.Errorf("GET of a hide mark, skip_hidden on: %v; want archived, %q", m, tasks.HiddenReason)
	}
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c))
	if st != http.StatusConflict || m["state"] != "archived" {
		t.Errorf("reply on a hide mark, skip_hidden on: %d %v; want 409 archived", st, m)
	}
	st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"replies":[{"page_id":%q,"comment_id":%q,"text":"hi"}]}`, e.page.ID, c))
	if rs, _ := m["results"].([]any); st != http.StatusMultiStatus || len(rs) != 1 || rs[0].(map[string]any)["status"] != float64(http.StatusConflict) {
		t.Errorf("batch reply on a hide mark, skip_hidden on: %d %v; want 207 with a 409", st, m)
	}
	if en, err := e.ledger.Get(ctx, e.page.ID, tasks.Target{Kind: tasks.KindComment, ID: c}); err != nil || en.Reason != tasks.HiddenReason {
		t.Errorf("entry after the replies: %+v %v; want the hide mark kept", en, err)
	}
}

// startPlainWorker starts a worker for e's Page as the API has it (no
// skip_hidden), shut down at the end of the test.
func startPlainWorker(t *testing.T, e *env) {
	t.Helper()
	gs := httptest.NewServer(e.sb)
	t.Cleanup(gs.Close)
	rdb := tasks.NewRedisClient(e.opt)
	t.Cleanup(func() { _ = rdb.Close() })
	w := worker.New(worker.Params{
		Redis: e.opt, Ledger: tasks.NewLedger(rdb, tasks.LedgerOptions{}), Concurrency: 2, MaxRetry: 3,
		Graph:        graph.New(graph.Config{BaseURL: gs.URL, Timeout: 2 * time.Second}),
		Pages:        []config.Page{{ID: e.page.ID, AccessToken: e.page.Token, ReplyTo: []string{config.ReplyComments}}},
		GraphTimeout: 2 * time.Second, SendSettle: time.Second, ShutdownTimeout: 3 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Shutdown(context.Background()) })
}
