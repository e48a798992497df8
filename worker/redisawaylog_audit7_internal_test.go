package worker

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestReleaseWithRedisAwayLogsOnce: when Redis goes away, every reply in
// flight fails to give back its claim at once; the log gets one WARN naming
// the reply (page_id, target) with the error, the others at debug, not a
// WARN per reply at the moment an operator reads the log.
func TestReleaseWithRedisAwayLogsOnce(t *testing.T) {
	rdb := redistest.Refused(t)
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{})
	var logs proctest.Buffer
	base := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := &Worker{p: Params{Ledger: ledger}, log: base}
	for i := range 20 {
		r := tasks.Reply{PageID: "111", Target: tasks.Target{Kind: tasks.KindComment, ID: "1_" + strings.Repeat("0", i)}}
		w.release(r, "tok", &taskLog{base: base, r: &r})
	}
	warn, debug := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.Contains(line, `"msg":"release claim"`) {
			continue
		}
		switch {
		case strings.Contains(line, `"level":"WARN"`):
			warn++
			if !strings.Contains(line, `"page_id":"111"`) || !strings.Contains(line, `"target":"comment:1_`) || !strings.Contains(line, `"error":`) {
				t.Errorf("WARN line without page_id, target or error: %s", line)
			}
		case strings.Contains(line, `"level":"DEBUG"`):
			debug++
		}
	}
	if warn != 1 || debug != 19 {
		t.Errorf("release claim with Redis away: %d WARN and %d DEBUG lines for 20 replies, want 1 and 19:\n%s", warn, debug, logs.String())
	}
}

// TestAsynqMoveFailuresLoggedOnce: Redis away when the tasks in flight end,
// asynq warns for each that it could not move it (and moves it once Redis
// answers), and at shutdown logs an error for each move that still fails
// (the task is put back once its lease ends): one WARN and one ERROR, the
// others at debug, not a line per task in flight.
func TestAsynqMoveFailuresLoggedOnce(t *testing.T) {
	var logs proctest.Buffer
	l := NewAsynqLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for i := range 20 {
		l.Warn(`Could not move task id=comment:1_`, i, ` from "asynq:{replies}:active" to "asynq:{replies}:retry"; Will retry syncing`)
	}
	l.Warn("Another warning")
	for i := range 20 { // at shutdown, those still not moved
		l.Error(`Could not move task id=comment:1_`, i, ` from "asynq:{replies}:active" to "asynq:{replies}:retry"`)
	}
	l.Error("Another error")
	warn, debug, errs := 0, 0, 0
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		switch {
		case !strings.Contains(line, `"msg":"Could not move task id=`):
		case strings.Contains(line, `"level":"WARN"`):
			warn++
		case strings.Contains(line, `"level":"ERROR"`):
			errs++
		case strings.Contains(line, `"level":"DEBUG"`):
			debug++
		}
	}
	if warn != 1 || errs != 1 || debug != 38 || !strings.Contains(logs.String(), `"level":"WARN","msg":"Another warning"`) ||
		!strings.Contains(logs.String(), `"level":"ERROR","msg":"Another error"`) {
		t.Errorf("%d WARN, %d ERROR and %d DEBUG move failures for 20 tasks and 20 at shutdown, want 1, 1 and 38, other lines kept:\n%s", warn, errs, debug, logs.String())
	}
}
