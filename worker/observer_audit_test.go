package worker_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestObserverPausesOnlyAnsweredThrottles: the Graph observer pauses a Page
// whose successful answer's usage headers are at the limit (95 % and up,
// said so in the reason; without Graph's time to regain access, for its
// default pause), leaves an error's pause to the handler, and in a
// dry run pauses no Page for the app's usage. Every call is counted. A call made for no Page (the
// app's own, such as a token check) pauses nothing, whatever its usage: there
// is no Page of its own to pause, nor one to say the app's pause was seen on.
func TestObserverPausesOnlyAnsweredThrottles(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		name     string
		dry      bool
		pageless bool
		ci       graph.CallInfo
		paused   bool
		reason   string
	}{
		{name: "usage at 95%", ci: graph.CallInfo{Usage: graph.Usage{MaxPercent: 95, RegainAccess: time.Minute}},
			paused: true, reason: "usage headers near the limit (95%), access regained in 1m0s"},
		// No time to regain access given: paused for defaultThrottlePause.
		{name: "usage at 96%, no regain time", ci: graph.CallInfo{Usage: graph.Usage{MaxPercent: 96}},
			paused: true, reason: "usage headers near the limit (96%)"},
		{name: "an error's usage", ci: graph.CallInfo{Code: 4, HTTPStatus: 400, Usage: graph.Usage{MaxPercent: 99}}},
		{name: "dry run, app usage", dry: true, ci: graph.CallInfo{Usage: graph.Usage{MaxPercent: 99, AppPercent: 99}}},
		{name: "page-less call, app usage", pageless: true, ci: graph.CallInfo{Usage: graph.Usage{MaxPercent: 99, AppPercent: 99, RegainAccess: time.Minute}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := redistest.New(t)
			l := tasks.NewLedger(db.Client, tasks.LedgerOptions{AppPages: []string{"111", "222"}})
			m := metrics.New()
			obs := worker.GraphObserver(l, m, log)
			if tc.dry {
				obs = worker.DryRunGraphObserver(l, m, log)
			}
			tc.ci.PageID, tc.ci.Endpoint = "111", "messages"
			if tc.pageless {
				tc.ci.PageID = ""
			}
			if tc.ci.HTTPStatus == 0 {
				tc.ci.HTTPStatus = 200
			}
			obs(tc.ci)
			// Every call is counted, whatever it paused.
			if n := readMetric(t, m.GraphCalls.WithLabelValues("messages", strconv.Itoa(tc.ci.Code))).GetCounter().GetValue(); n != 1 {
				t.Errorf("%v Graph calls counted, want 1", n)
			}
			for _, page := range []string{"111", "222"} {
				d, why, err := l.Paused(ctx, page)
				if err != nil {
					t.Fatal(err)
				}
				want := tc.paused && page == "111"
				if (d > 0) != want || want && why != tasks.PauseThrottled+": "+tc.reason {
					t.Errorf("page %s paused for %s (%q), want paused: %v with %q", page, d, why, want, tc.reason)
				}
			}
		})
	}
}
