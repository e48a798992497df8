package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// requestLines waits (bounded) until the log holds n request-log lines of
// status, and returns them by level.
func requestLines(t *testing.T, e *env, status, n int) (map[string]int, []string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		levels := map[string]int{}
		var lines []string
		for _, line := range strings.Split(e.logs.String(), "\n") {
			if !strings.Contains(line, `"msg":"http request"`) || !strings.Contains(line, fmt.Sprintf(`"status":%d,`, status)) {
				continue
			}
			lines = append(lines, line)
			for _, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
				if strings.Contains(line, `"level":"`+l+`"`) {
					levels[l]++
				}
			}
		}
		if len(lines) >= n || time.Now().After(deadline) {
			return levels, lines
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTryAgainRequestLogSpaced_audit11: with Redis away every request is
// answered 503 ("try again", as documented), and the handler says why (an
// ERROR once per 10 s): the request log says the 503s with one WARN and the
// rest at debug, counted, not an ERROR line per request.
func TestTryAgainRequestLogSpaced_audit11(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		rdb := redistest.Refused(t)
		l := tasks.NewLedger(rdb, tasks.LedgerOptions{})
		p.Ledger = l
		p.Enqueuer = &tasks.Enqueuer{Client: p.Enqueuer.Client, Ledger: l, MaxRetry: 3}
	})
	const n = 6
	for i := range n {
		body := fmt.Sprintf(`{"page_id":%q,"comment_id":"9%d_1","text":"hi"}`, e.page.ID, i)
		if resp, b := e.request(t, "POST", "/v1/replies", testToken, body); resp.StatusCode != 503 {
			t.Fatalf("request %d with Redis away: %d %s, want 503", i, resp.StatusCode, b)
		}
	}
	levels, lines := requestLines(t, e, 503, n)
	if len(lines) != n || levels["WARN"] != 1 || levels["DEBUG"] != n-1 {
		t.Fatalf("request log of %d 503s by level %v, want 1 WARN and %d DEBUG:\n%s", n, levels, n-1, strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], `"path":"/v1/replies"`) {
		t.Errorf("the first 503 is not the WARN line with its path: %s", lines[0])
	}
}

// TestBugRequestLogEachError_audit11: a 500 is a bug (here a handler that
// panics): each is an ERROR line in the request log, never spaced.
func TestBugRequestLogEachError_audit11(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		p.Webhook = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	})
	const n = 4
	for i := range n {
		if st, m := e.do(t, http.MethodPost, "/webhook", "", "{}"); st != http.StatusInternalServerError {
			t.Fatalf("request %d: %d %v, want 500", i, st, m)
		}
	}
	levels, lines := requestLines(t, e, 500, n)
	if len(lines) != n || levels["ERROR"] != n {
		t.Fatalf("request log of %d 500s by level %v, want %d ERROR:\n%s", n, levels, n, strings.Join(lines, "\n"))
	}
}
