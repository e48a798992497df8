package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/graph"
)

// TestClientGoneNotLoggedAsRedisError_audit12: a caller that gives up before
// its answer (a client timeout shorter than the API's, or one that hangs up
// on purpose, again and again) ended the request's context, and the Redis
// call made after that failed with "context canceled": logged as the
// request's Redis failure, an ERROR per request, though Redis is fine. It
// must not be an ERROR (nor a WARN).
func TestClientGoneNotLoggedAsRedisError_audit12(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		// The task lookup goes through a Redis 400 ms away, so the
		// caller below is gone before the ledger's lookup begins.
		slow := asynq.RedisClientOpt{Addr: startSlowProxy(t, p.RedisConnOpt.(asynq.RedisClientOpt).Addr, 400*time.Millisecond),
			DB: p.RedisConnOpt.(asynq.RedisClientOpt).DB}
		insp := asynq.NewInspector(slow)
		t.Cleanup(func() { _ = insp.Close() })
		p.Inspector = insp
	})
	const n = 3
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/v1/replies/comment:1_2", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("answered %d within the client's 100 ms, want the client gone first", resp.StatusCode)
		}
		cancel()
	}
	// Each request logs its answer once it has one (here 503).
	requestLines(t, e, http.StatusServiceUnavailable, n)
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"api: `) && (strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`)) {
			t.Errorf("a request whose caller left is logged as a Redis failure: %s", line)
		}
	}
}

// TestClientGoneDuringConversationReadNotWarned_audit12: a caller that
// leaves while its conversation is read from Graph cut the read short, and
// that was logged as Graph failing the read ("api: read conversation", a
// WARN per request, at the Page's read rate on each of any number of
// Pages), though Graph did not fail. It must not be a WARN (nor an ERROR).
func TestClientGoneDuringConversationReadNotWarned_audit12(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(hang.Close)
	e := newEnv(t, func(p *api.Params) {
		p.Graph = graph.New(graph.Config{BaseURL: hang.URL, Timeout: 5 * time.Second})
	})
	const n = 3
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		body := fmt.Sprintf(`{"page_id":%q,"conversation_id":"t_%d","text":"hello"}`, e.page.ID, i)
		req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/v1/replies", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("answered %d within the client's 200 ms, want the client gone first", resp.StatusCode)
		}
		cancel()
	}
	// Each request logs its answer once it has one.
	for deadline := time.Now().Add(10 * time.Second); strings.Count(e.logs.String(), `"msg":"http request"`) < n && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, `"msg":"api: `) && (strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`)) {
			t.Errorf("a request whose caller left during its read is logged as Graph's failure: %s", line)
		}
	}
	if c := strings.Count(e.logs.String(), `"msg":"http request"`); c < n {
		t.Fatalf("%d request log lines, want %d", c, n)
	}
}
