package api_test

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
)

// TestMetricsRedisAwayLogSpaced_audit12: /metrics needs no credentials, and
// with Redis away each scrape logged a WARN for the queue gauges and one for
// the pauses: anyone who reaches the address (and every Prometheus
// scraping it) flooded the log. Each must be a WARN once per 10 s and debug
// for the scrapes between, as the other lines Redis away repeats are.
func TestMetricsRedisAwayLogSpaced_audit12(t *testing.T) {
	e, cut := newCutEnv(t, func(p *api.Params) {
		// Nothing listens there: asynq's reads fail as with Redis away.
		insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: "127.0.0.1:1"})
		t.Cleanup(func() { _ = insp.Close() })
		p.Inspector = insp
		p.Now = slowClock()
	})
	cut.Down()
	const n = 3 // each about 2 s (asynq's dial retries): within 10 s of the slow clock
	for range n {
		scrapeMetrics(t, e)
	}
	for _, msg := range []string{"metrics: list asynq queues", "metrics: read pauses"} {
		levels := map[string]int{}
		for _, line := range strings.Split(e.logs.String(), "\n") {
			if !strings.Contains(line, `"msg":"`+msg+`"`) {
				continue
			}
			for _, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
				if strings.Contains(line, `"level":"`+l+`"`) {
					levels[l]++
				}
			}
		}
		if levels["WARN"] != 1 || levels["DEBUG"] != n-1 {
			t.Errorf("%q lines of %d scrapes with Redis away by level %v, want 1 WARN and %d DEBUG", msg, n, levels, n-1)
		}
	}
}
