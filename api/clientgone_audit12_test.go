package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
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
