package metrics

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pagereply/pagereply/graph"
)

// TestGraphCallsNotGraphsAnswerNotSuccess: a Graph call answered by
// something that is not Graph's error envelope (a proxy's HTML 502, a 200
// whose body cannot be read) is counted under code http_<status> or
// malformed, through the real client: counted under code 0, which
// pagereply_graph_calls_total's help calls success, an alert on the errors
// of Graph would not see a proxy failing every send.
func TestGraphCallsNotGraphsAnswerNotSuccess(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err == nil {
			switch r.PostForm.Get("recipient") {
			case `{"comment_id":"1_html"}`:
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				_, _ = w.Write([]byte("<html><body>502 Bad Gateway</body></html>"))
				return
			case `{"comment_id":"1_torn"}`:
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"recipient_id":"9","message_`))
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"recipient_id":"9","message_id":"m_1"}`))
	}))
	t.Cleanup(srv.Close)
	m := New()
	c := graph.New(graph.Config{BaseURL: srv.URL, Observer: m.ObserveGraph})
	for _, id := range []string{"1_ok", "1_html", "1_torn"} {
		_, err := c.SendPrivateReply(context.Background(), "page-token-for-the-test", "1", graph.Recipient{CommentID: id}, "hi")
		if (err == nil) != (id == "1_ok") {
			t.Fatalf("send to %s: %v", id, err)
		}
	}
	got := gather(t, m)
	for k, want := range map[string]float64{
		"pagereply_graph_calls_total code=0 endpoint=messages":         1,
		"pagereply_graph_calls_total code=http_502 endpoint=messages":  1,
		"pagereply_graph_calls_total code=malformed endpoint=messages": 1,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v (all: %v)", k, got[k], want, got)
		}
	}
}
