package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestEnqueueRedisAwayLoggedOnce: with Redis away every request fails
// alike; the first says why at ERROR (api: enqueue, with the Page and the
// target), the next ones within 10 s at debug: each is in the request log
// already as its 503, and two ERROR lines per request flooded the log.
func TestEnqueueRedisAwayLoggedOnce(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		rdb := redistest.Refused(t)
		l := tasks.NewLedger(rdb, tasks.LedgerOptions{})
		p.Ledger = l
		p.Enqueuer = &tasks.Enqueuer{Client: p.Enqueuer.Client, Ledger: l, MaxRetry: 3}
	})
	for i := range 3 {
		body := fmt.Sprintf(`{"page_id":%q,"comment_id":"9%d_1","text":"hi"}`, e.page.ID, i)
		if resp, b := e.request(t, "POST", "/v1/replies", testToken, body); resp.StatusCode != 503 {
			t.Fatalf("request %d with Redis away: %d %s, want 503", i, resp.StatusCode, b)
		}
	}
	levels := map[string]int{}
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if !strings.Contains(line, `"msg":"api: enqueue"`) {
			continue
		}
		for _, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
			if strings.Contains(line, `"level":"`+l+`"`) {
				levels[l]++
			}
		}
		if !strings.Contains(line, `"page_id":"`+e.page.ID+`"`) || !strings.Contains(line, `"target":"comment:9`) {
			t.Errorf("line without page_id or target: %s", line)
		}
	}
	if levels["ERROR"] != 1 || levels["DEBUG"] != 2 {
		t.Errorf("api: enqueue lines by level %v for 3 requests, want 1 ERROR and 2 DEBUG:\n%s", levels, e.logs.String())
	}
}
