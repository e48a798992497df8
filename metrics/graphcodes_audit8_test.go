package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph"
)

// TestGraphCallsCodesBounded: pagereply_graph_calls_total's code is what the
// answer's body says, not a value of pagereply's own: an upstream answering
// ever new error codes (a proxy, a Graph misbehaving) must not add a series
// for each one for the life of the process. Through the real client over
// loopback, 1,000 distinct codes leave at most maxGraphCodes code series
// and the rest under "other", while success, network and malformed keep
// their own series whatever came before.
func TestGraphCallsCodesBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		rcpt := r.PostForm.Get("recipient") // {"comment_id":"1_<code>"}
		code := strings.TrimSuffix(rcpt[strings.LastIndex(rcpt, "_")+1:], `"}`)
		w.Header().Set("Content-Type", "application/json")
		if code == "ok" {
			_, _ = w.Write([]byte(`{"recipient_id":"9","message_id":"m_1"}`))
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"message":"Invalid parameter","type":"OAuthException","code":%s,"fbtrace_id":"x"}}`, code)
	}))
	t.Cleanup(srv.Close)
	m := New()
	c := graph.New(graph.Config{BaseURL: srv.URL, Observer: m.ObserveGraph})
	send := func(id string) {
		t.Helper()
		_, err := c.SendPrivateReply(context.Background(), "page-token-for-the-test", "1", graph.Recipient{CommentID: "1_" + id}, "hi")
		if (err == nil) != (id == "ok") {
			t.Fatalf("send to 1_%s: %v", id, err)
		}
	}
	const distinct = 1000
	for i := range distinct {
		send(strconv.Itoa(1_000_000 + i))
	}
	send("ok")
	got := gather(t, m)
	codes, calls := 0, 0.0
	for k, v := range got {
		if !strings.HasPrefix(k, "pagereply_graph_calls_total ") {
			continue
		}
		codes++
		calls += v
	}
	if codes > maxGraphCodes+2 { // + other + 0
		t.Errorf("%d code series after %d distinct codes, want at most %d", codes, distinct, maxGraphCodes+2)
	}
	if calls != distinct+1 {
		t.Errorf("%v calls counted, want %d: none is lost", calls, distinct+1)
	}
	if other := got["pagereply_graph_calls_total code=other endpoint=messages"]; other != distinct-maxGraphCodes {
		t.Errorf("other = %v, want %d", other, distinct-maxGraphCodes)
	}
	if got["pagereply_graph_calls_total code=0 endpoint=messages"] != 1 {
		t.Errorf("success not counted under code 0 past the bound: %v", got)
	}
	// A code seen before the bound keeps its series.
	send(strconv.Itoa(1_000_000))
	if n := gather(t, m)["pagereply_graph_calls_total code=1000000 endpoint=messages"]; n != 2 {
		t.Errorf("code=1000000 = %v, want 2", n)
	}
}
