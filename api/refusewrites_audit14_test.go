package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
)

// TestRepliesRedisRefusingWrites_audit14: POST /v1/replies while Redis
// answers but refuses writes (full, a read-only replica, too few replicas)
// is a 503 with a body saying to try again and a Retry-After, never a 202
// for a reply that was not queued nor a 500; the log line holds no API
// token. Once Redis takes writes again the same request is queued (202).
func TestRepliesRedisRefusingWrites_audit14(t *testing.T) {
	for _, tc := range []struct {
		name          string
		refuse, allow []any
	}{
		{"OOM", []any{"CONFIG", "SET", "maxmemory", "1"}, []any{"CONFIG", "SET", "maxmemory", "0"}},
		{"READONLY", []any{"REPLICAOF", "127.0.0.1", "1"}, []any{"REPLICAOF", "NO", "ONE"}},
		{"NOREPLICAS", []any{"CONFIG", "SET", "min-replicas-to-write", "1"}, []any{"CONFIG", "SET", "min-replicas-to-write", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := redisproc.Start(t, redisproc.Options{})
			e := newEnv(t, func(p *api.Params) {
				opt := asynq.RedisClientOpt{Addr: srv.Addr()}
				rdb := tasks.NewRedisClient(opt)
				t.Cleanup(func() { _ = rdb.Close() })
				l := tasks.NewLedger(rdb, tasks.LedgerOptions{})
				c := asynq.NewClient(opt)
				t.Cleanup(func() { _ = c.Close() })
				insp := asynq.NewInspector(opt)
				t.Cleanup(func() { _ = insp.Close() })
				p.Ledger, p.Inspector, p.RedisConnOpt = l, insp, opt
				p.Enqueuer = &tasks.Enqueuer{Client: c, Ledger: l, MaxRetry: 3}
			})
			admin := srv.Client()
			ctx := context.Background()
			if err := admin.Do(ctx, tc.refuse...).Err(); err != nil {
				t.Fatal(err)
			}
			comment := e.sb.AllComments(e.page.ID)[0].ID
			body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hello"}`, e.page.ID, comment)
			resp, b := e.request(t, http.MethodPost, "/v1/replies", testToken, body)
			if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "try again") || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("POST while Redis refuses writes (%s): %d %s (Retry-After %q), want 503 saying to try again with a Retry-After",
					tc.name, resp.StatusCode, b, resp.Header.Get("Retry-After"))
			}
			if logs := e.logs.String(); !strings.Contains(logs, tc.name) || strings.Contains(logs, testToken) {
				t.Errorf("log after the refused enqueue does not name %s, or holds the API token:\n%s", tc.name, logs)
			}
			if err := admin.Do(ctx, tc.allow...).Err(); err != nil {
				t.Fatal(err)
			}
			if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body); st != http.StatusAccepted {
				t.Fatalf("POST once Redis takes writes again: %d %v, want 202", st, m)
			}
		})
	}
}
