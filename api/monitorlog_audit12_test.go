package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
)

// TestMonitorErrorRequestLogSpaced_audit12: an open monitor asks its API
// every few seconds, and while asynqmon's Redis fails it answers each with
// 500 (passed through as asynqmon writes it when the readiness probe still
// gets its answer: here asynqmon's own pool reaches no Redis, as one that
// comes and goes, or refuses writes). The request log said each at ERROR,
// a line per refresh of every open monitor; the first in 10 s must be the
// ERROR, the others at debug, counted, as the other spaced lines are.
func TestMonitorErrorRequestLogSpaced_audit12(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		// Nothing listens there: asynqmon's reads fail, the probe's
		// (the ledger's Redis) do not.
		p.RedisConnOpt = asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond}
		p.Now = slowClock()
	})
	const n = 4 // each about 1.7 s (asynq's dial retries): within 10 s of the slow clock
	for i := range n {
		if resp, b := e.request(t, "GET", "/monitor/api/queues", testToken, ""); resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("monitor ask %d with asynqmon's Redis away: %d %s, want asynqmon's 500", i, resp.StatusCode, b)
		}
	}
	levels, lines := requestLines(t, e, http.StatusInternalServerError, n)
	if len(lines) != n || levels["ERROR"] != 1 || levels["DEBUG"] != n-1 {
		t.Fatalf("request log of %d monitor 500s by level %v, want 1 ERROR and %d DEBUG:\n%s", n, levels, n-1, strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], `"level":"ERROR"`) || !strings.Contains(lines[0], `"path":"/monitor/api/queues"`) {
		t.Errorf("the first 500 is not the ERROR line with its path: %s", lines[0])
	}
}

// slowClock is a clock that runs a thousand times slower than the machine's:
// the requests of a test of spaced log lines (each taking seconds with
// Redis away) stay within one logspace.Period of it however loaded the
// machine is.
func slowClock() func() time.Time {
	start := time.Now()
	return func() time.Time { return start.Add(time.Since(start) / 1000) }
}
