package api_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/graph"
)

// TestConversationReadFailureLogSpaced_audit13: Graph failing a Page's
// conversation reads (here a 500 each time: no pause, so every request
// reads again) is answered 502, and the handler said each at WARN, a line
// per request of a caller retrying (its read slots let about 2 a second
// through per Page). The same failure of the same Page must be one WARN per
// 10 s, the others at debug, counted in the next WARN, as the request log's
// 502 line and the other repeated failures are.
func TestConversationReadFailureLogSpaced_audit13(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1,"fbtrace_id":"AbC"}}`)
	}))
	t.Cleanup(failing.Close)
	e := newEnv(t, func(p *api.Params) {
		p.Graph = graph.New(graph.Config{BaseURL: failing.URL, Timeout: 2 * time.Second})
		p.Now = slowClock()
	})
	const n = 4
	b := fmt.Sprintf(`{"page_id":%q,"conversation_id":"t_123456","text":"hello"}`, e.page.ID)
	for i := range n {
		if status, m := e.do(t, "POST", "/v1/replies", testToken, b); status != http.StatusBadGateway {
			t.Fatalf("request %d with Graph failing: %d %v, want 502", i, status, m)
		}
	}
	levels := map[string]int{}
	var lines []string
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if !strings.Contains(line, `"msg":"api: read conversation"`) {
			continue
		}
		lines = append(lines, line)
		for _, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
			if strings.Contains(line, `"level":"`+l+`"`) {
				levels[l]++
			}
		}
	}
	if len(lines) != n || levels["WARN"] != 1 || levels["DEBUG"] != n-1 {
		t.Fatalf("%d failed conversation reads logged by level %v, want 1 WARN and %d DEBUG:\n%s", n, levels, n-1, strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], "unknown error") || !strings.Contains(lines[0], `"page_id":"`+e.page.ID+`"`) {
		t.Errorf("the first failure is not the WARN with its error and Page: %s", lines[0])
	}
}
