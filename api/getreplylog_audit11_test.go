package api_test

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestGetReplyRedisAwayLoggedOnce_audit11: with Redis away every GET
// /v1/replies/{id} fails alike (503, "try again"); the first says why at
// ERROR, the next ones within 10 s at debug, as "api: enqueue" does, not an
// ERROR line per request.
func TestGetReplyRedisAwayLoggedOnce_audit11(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: "127.0.0.1:1"})
		t.Cleanup(func() { _ = insp.Close() })
		p.Inspector = insp
		p.Ledger = tasks.NewLedger(redistest.Refused(t), tasks.LedgerOptions{})
	})
	const n = 4
	for i := range n {
		if resp, b := e.request(t, "GET", "/v1/replies/comment:"+e.page.ID+"_1", testToken, ""); resp.StatusCode != 503 {
			t.Fatalf("request %d with Redis away: %d %s, want 503", i, resp.StatusCode, b)
		}
	}
	levels := map[string]int{}
	var lines []string
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if !strings.Contains(line, `"msg":"api: task info"`) && !strings.Contains(line, `"msg":"api: ledger"`) {
			continue
		}
		lines = append(lines, line)
		for _, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
			if strings.Contains(line, `"level":"`+l+`"`) {
				levels[l]++
			}
		}
	}
	if len(lines) != n || levels["ERROR"] != 1 || levels["DEBUG"] != n-1 {
		t.Fatalf("Redis failure lines of %d requests by level %v, want 1 ERROR and %d DEBUG:\n%s", n, levels, n-1, strings.Join(lines, "\n"))
	}
}
