package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestSlowBatchStillAnswered: POST /v1/replies gets its answer written
// however long its items took (each conversation reply reads Graph, at about
// 2 a second, so a batch of a few hundred takes minutes), while the server's
// write timeout still holds for the writing itself. Before, the server-wide
// write timeout, counted from the request, cut the connection once the
// batch had been handled: the replies were queued and the caller got EOF.
// Here the timeout is 500 ms and Graph answers the conversation read in 1.5 s.
func TestSlowBatchStillAnswered(t *testing.T) {
	var convs []sandbox.Conversation
	e := newEnv(t, func(p *api.Params) {
		sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 3, Comments: 4, Conversations: 8, Seed: 7})
		gs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/t_") {
				time.Sleep(1500 * time.Millisecond)
			}
			sb.ServeHTTP(w, r)
		}))
		t.Cleanup(gs.Close)
		convs = sb.Conversations(p.Pages[0].ID)
		p.Graph = graph.New(graph.Config{BaseURL: gs.URL, Timeout: 5 * time.Second})
		p.WriteTimeout = 500 * time.Millisecond
	})
	var conv string
	for _, c := range convs {
		if last := c.Messages[len(c.Messages)-1]; !last.FromPage && time.Since(last.CreatedTime) < 23*time.Hour {
			conv = c.ID
			break
		}
	}
	if conv == "" {
		t.Fatal("no conversation inside the window in this seed: the test would check nothing")
	}
	status, m := e.do(t, "POST", "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"hello"}`, e.page.ID, conv))
	if status != 202 {
		t.Fatalf("conversation reply read in 1.5 s with a 500 ms write timeout: %d %v, want 202", status, m)
	}
}
