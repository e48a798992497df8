package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// switchedRedis is a go-redis client of a real test database whose every
// call fails at once while down is set, as a Redis out of reach.
type switchedRedis struct {
	db   *redistest.DB
	down *atomic.Bool
}

func (h switchedRedis) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h switchedRedis) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.down.Load() {
			err := errors.New("dial tcp: connection refused")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}
func (h switchedRedis) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if h.down.Load() {
			err := errors.New("dial tcp: connection refused")
			for _, c := range cmds {
				c.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

func (h switchedRedis) MakeRedisClient() any {
	c := redis.NewClient(&redis.Options{Addr: h.db.Addr, DB: h.db.DB, MaxRetries: -1})
	c.AddHook(h)
	return c
}

// logLines decodes a JSON log into its lines' attributes.
func logLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, raw := range strings.Split(strings.TrimSpace(logs), "\n") {
		if raw == "" {
			continue
		}
		var attrs map[string]any
		if err := json.Unmarshal([]byte(raw), &attrs); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		out = append(out, attrs)
	}
	return out
}

// countLevels counts msg's lines by level.
func countLevels(lines []map[string]any, msg string) map[string]int {
	n := map[string]int{}
	for _, l := range lines {
		if l["msg"] == msg {
			n[l["level"].(string)]++
		}
	}
	return n
}

// TestRedisOutageLogsOnce: while Redis is away, every Page's every slot
// fails alike; the log says so once (a WARN that the pause could not be
// read, an ERROR that the poll was not enqueued), the other slots' lines are
// at debug, and the first poll enqueued once Redis answers again logs one
// INFO line with how many slots were missed. A second outage is logged again.
func TestRedisOutageLogsOnce(t *testing.T) {
	db := redistest.New(t)
	var down atomic.Bool
	h := switchedRedis{db: db, down: &down}
	lc := h.MakeRedisClient().(*redis.Client)
	t.Cleanup(func() { lc.Close() })
	var logs proctest.Buffer
	pages := manyPages(5, "0 0 1 1 *")
	s, err := New(Params{Redis: h, Pages: pages, Metrics: metrics.New(),
		Ledger: tasks.NewLedger(lc, tasks.LedgerOptions{}),
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	s.client = asynq.NewClient(h)
	t.Cleanup(func() { s.client.Close() })
	ctx := context.Background()
	slot := time.Unix(1_700_000_000, 0)
	outage := func() {
		down.Store(true)
		for i := range 3 {
			for _, e := range s.pages {
				at := slot.Add(time.Duration(i) * time.Minute)
				s.enqueue(ctx, e, at, time.Time{}, tasks.PollTaskID(e.page.ID, at))
			}
		}
		down.Store(false)
	}
	outage()
	lines := logLines(t, logs.String())
	if n := countLevels(lines, "read page pause"); n["WARN"] != 1 || n["DEBUG"] != 14 {
		t.Errorf("read page pause: %v lines by level, want 1 WARN and 14 DEBUG", n)
	}
	if n := countLevels(lines, "enqueue poll"); n["ERROR"] != 1 || n["DEBUG"] != 14 {
		t.Errorf("enqueue poll: %v lines by level, want 1 ERROR and 14 DEBUG", n)
	}
	for _, l := range lines {
		if l["level"] != "DEBUG" && (l["page_id"] == nil || l["slot"] == nil || l["error"] == nil) {
			t.Errorf("line without page_id, slot or error: %v", l)
		}
	}
	s.enqueue(ctx, s.pages[0], slot.Add(time.Hour), time.Time{}, tasks.PollTaskID(s.pages[0].page.ID, slot.Add(time.Hour)))
	s.enqueue(ctx, s.pages[1], slot.Add(time.Hour), time.Time{}, tasks.PollTaskID(s.pages[1].page.ID, slot.Add(time.Hour)))
	var again []map[string]any
	for _, l := range logLines(t, logs.String()) {
		if l["msg"] == "polls enqueued again" {
			again = append(again, l)
		}
	}
	if len(again) != 1 || again[0]["level"] != "INFO" || again[0]["missed_slots"] != float64(15) {
		t.Errorf("end of the outage logged as %v, want one INFO line with missed_slots 15", again)
	}
	mark := len(logs.String())
	outage()
	lines = logLines(t, logs.String()[mark:])
	if n := countLevels(lines, "enqueue poll"); n["ERROR"] != 1 {
		t.Errorf("second outage: enqueue poll %v lines by level, want 1 ERROR", n)
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs.String())
	}
}

// TestBrokenPageSkipLoggedOncePerPause: a broken Page's skipped slots log
// one WARN for its pause (with the pause's length under the key "for", as
// the worker's page paused line), the next slots of the same pause at
// debug; a new pause of the Page warns again.
func TestBrokenPageSkipLoggedOncePerPause(t *testing.T) {
	db := redistest.New(t)
	ledger := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	ctx := context.Background()
	if _, err := ledger.Pause(ctx, "111", 5*time.Minute, "page_broken: token expired [fbtrace A]"); err != nil {
		t.Fatal(err)
	}
	var logs proctest.Buffer
	s, err := New(Params{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB},
		Pages: []config.Page{{ID: "111", Schedule: "0 0 1 1 *"}}, Ledger: ledger, Metrics: metrics.New(),
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	s.client = asynq.NewClient(asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB})
	t.Cleanup(func() { s.client.Close() })
	slot := time.Unix(1_700_000_000, 0)
	for i := range 4 {
		at := slot.Add(time.Duration(i) * time.Minute)
		s.enqueue(ctx, s.pages[0], at, time.Time{}, tasks.PollTaskID(s.pages[0].page.ID, at))
	}
	lines := logLines(t, logs.String())
	if n := countLevels(lines, "poll skipped: page broken"); n["WARN"] != 1 || n["DEBUG"] != 3 {
		t.Errorf("poll skipped: page broken: %v lines by level, want 1 WARN and 3 DEBUG", n)
	}
	for _, l := range lines {
		if l["msg"] == "poll skipped: page broken" && (l["for"] == nil || l["paused_for"] != nil || l["page_id"] != "111") {
			t.Errorf("line %v: want page_id 111 and the pause's length as for", l)
		}
	}
	if _, err := ledger.Pause(ctx, "111", 10*time.Minute, "page_broken: token expired [fbtrace B]"); err != nil {
		t.Fatal(err)
	}
	mark := len(logs.String())
	s.enqueue(ctx, s.pages[0], slot.Add(time.Hour), time.Time{}, tasks.PollTaskID(s.pages[0].page.ID, slot.Add(time.Hour)))
	if n := countLevels(logLines(t, logs.String()[mark:]), "poll skipped: page broken"); n["WARN"] != 1 {
		t.Errorf("a new pause: %v lines by level, want 1 WARN", n)
	}
	if t.Failed() {
		t.Logf("log:\n%s", logs.String())
	}
}
