package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/graphtest"
	"github.com/pagereply/pagereply/tasks"
)

// TestConversationReadRetryAfterPauses_audit22: a conversation read that a
// proxy in front of Graph answers 503 with Retry-After pauses the Page as
// graph_down for that time, as the worker's calls so answered do, and the
// API answers 503 with the rest of the pause in Retry-After and
// retry_after, as for a paused Page; no Graph call is made before then,
// and the request asked again after it is queued. Before, the Page was not
// paused: the 502 said when to try again nowhere, and each retry read
// again, answered the same.
func TestConversationReadRetryAfterPauses_audit22(t *testing.T) {
	t.Parallel() // waits out the Retry-After
	var next atomic.Pointer[sandbox.Sandbox]
	proxy, g := graphtest.NewAskingProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.Load().ServeHTTP(w, r)
	}), func(r *http.Request) bool { return r.Method == http.MethodGet })
	e := newEnv(t, func(p *api.Params) { p.Graph = g })
	next.Store(e.sb)
	conv, _ := e.sb.AddMessage(e.page.ID, sandbox.User{ID: "99220001", Name: "Cy"}, "do you ship to Spain?", time.Now().Add(-10*time.Minute))
	body := fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"Thanks for your message!"}`, e.page.ID, conv)

	resp, b := e.request(t, http.MethodPost, "/v1/replies", testToken, body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	want := fmt.Sprint(int(graphtest.AskedWait / time.Second))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != want || fmt.Sprint(m["retry_after"]) != want ||
		!strings.Contains(errMessage(m), "paused") || !strings.Contains(errMessage(m), tasks.PauseGraphDown) || errField(m) != "conversation_id" {
		t.Fatalf("read answered 503 with Retry-After %s: %d (Retry-After %q) %v, want 503 with Retry-After %s, the Page paused as graph_down",
			want, resp.StatusCode, resp.Header.Get("Retry-After"), m, want)
	}
	d, reason, err := e.ledger.Paused(context.Background(), e.page.ID)
	if err != nil || d <= graphtest.AskedWait-time.Second || d > graphtest.AskedWait || tasks.PauseKind(reason) != tasks.PauseGraphDown {
		t.Fatalf("page paused for %s (%q, %v), want about %s, graph_down", d, reason, err, graphtest.AskedWait)
	}
	// Asked again at once: the paused Page's 503, no read.
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body); st != http.StatusServiceUnavailable || !strings.Contains(errMessage(m), "paused") {
		t.Fatalf("asked again during the pause: %d %v, want 503 paused", st, m)
	}
	if n := proxy.Calls(); n != 1 {
		t.Errorf("%d Graph calls during the pause, want the one answered 503", n)
	}
	// Asked again after the time given: read and queued.
	time.Sleep(graphtest.AskedWait + 100*time.Millisecond)
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body); st != http.StatusAccepted {
		t.Fatalf("asked again after the pause: %d %v, want 202", st, m)
	}
	proxy.Check(t)
}

// TestConversationReadThrottledSaysWhen_audit22: a conversation read Graph
// throttles (for 3 minutes here) pauses the Page, and its answer is the
// paused Page's: 503 with the pause in Retry-After, where it was a 502
// that said when to try again nowhere.
func TestConversationReadThrottledSaysWhen_audit22(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Graph = throttledReader{} })
	resp, b := e.request(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"conversation_id":"t_1","text":"hello"}`, e.page.ID))
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "180" || fmt.Sprint(m["retry_after"]) != "180" ||
		!strings.Contains(errMessage(m), "throttling") || !strings.Contains(errMessage(m), "paused for 3m0s (throttled)") {
		t.Fatalf("throttled read: %d (Retry-After %q) %v, want 503 with Retry-After 180, saying the Page is paused", resp.StatusCode, resp.Header.Get("Retry-After"), m)
	}
}
