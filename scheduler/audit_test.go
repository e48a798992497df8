package scheduler

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestNewAlignsSchedules: New runs "@every" schedules aligned to the epoch
// plus the Page's own offset (every replica names the same slots;
// config.PollOffset), an empty schedule as config.DefaultSchedule, and keeps
// a poll task at least an hour.
func TestNewAlignsSchedules(t *testing.T) {
	s, err := New(Params{Pages: []config.Page{{ID: "111", Schedule: "@every 1m"}, {ID: "222"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range s.pages {
		off := config.PollOffset(e.page.ID, cron.ConstantDelaySchedule{Delay: time.Minute})
		want := time.Unix(120, 0).Add(off)
		if !want.After(time.Unix(125, 0)) {
			want = want.Add(time.Minute)
		}
		if got := e.schedule.Next(time.Unix(125, 0)); !got.Equal(want) {
			t.Errorf("page %s: Next(125) = %d, want %d (offset %s)", e.page.ID, got.Unix(), want.Unix(), off)
		}
		if e.retention != time.Hour {
			t.Errorf("page %s: retention %s, want 1h", e.page.ID, e.retention)
		}
	}
	sched, _ := config.ParseSchedule("@every 45m")
	if r := retentionOf(aligned(sched), time.Unix(0, 0)); r != 90*time.Minute {
		t.Fatalf("retention of @every 45m = %s, want 1h30m", r)
	}
}

// TestPollAtStartPausedPages: the polls at start skip a broken Page only: a
// throttled one is polled (the poll sees the pause), and the task is named
// after the Page and its own next slot, kept for the retention.
func TestPollAtStartPausedPages(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	ledger := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	ctx := context.Background()
	if _, err := ledger.Pause(ctx, "111", time.Minute, "throttled: code 80006"); err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.Pause(ctx, "222", time.Minute, "page_broken: token expired"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 700e6, time.UTC)
	// Once a year on 1 January: cron fires nothing while the test runs.
	const yearly = "0 0 1 1 *"
	pages := []config.Page{{ID: "111", Schedule: yearly}, {ID: "222", Schedule: yearly}, {ID: "333", Schedule: yearly}}
	runPollsAtStart(t, Params{Redis: opt, Pages: pages, Ledger: ledger, PollAtStart: true, MaxRetry: 2,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }})
	ins := asynq.NewInspector(opt)
	defer ins.Close()
	infos, err := ins.ListPendingTasks(tasks.QueuePolls)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, ti := range infos {
		got[ti.ID] = true
		if ti.MaxRetry != 2 {
			t.Errorf("task %s: max retry %d, want 2", ti.ID, ti.MaxRetry)
		}
	}
	// Named after each Page's own next slot.
	next := func(page string) time.Time {
		s, err := config.PollSchedule(page, yearly)
		if err != nil {
			t.Fatal(err)
		}
		return s.Next(now)
	}
	if len(infos) != 2 || !got[tasks.StartPollTaskID("111", next("111"))] || !got[tasks.StartPollTaskID("333", next("333"))] {
		t.Fatalf("polls at start %v; want pages 111 (throttled) and 333, named after their next slots", got)
	}
}

// TestStartShutdownTwice: a second Start is refused; Shutdown before Start,
// or a second time, does nothing.
func TestStartShutdownTwice(t *testing.T) {
	db := redistest.New(t)
	s, err := New(Params{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}, Pages: []config.Page{{ID: "111", Schedule: "0 0 1 1 *"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown before start: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		t.Fatal("second Start: no error")
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("second shutdown: %v", err)
	}
}

// TestCronLogger: cron's routine messages are debug, its errors are errors,
// and an odd list of key-values is taken, not a panic.
func TestCronLogger(t *testing.T) {
	var buf bytes.Buffer
	l := &cronLogger{l: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	l.Info("start", "entry", 1, "now")
	if buf.Len() != 0 {
		t.Fatalf("routine message logged at info: %s", buf.String())
	}
	l.Error(errors.New("boom"), "panic", "entry", 1, "odd")
	if out := buf.String(); !bytes.Contains([]byte(out), []byte("level=ERROR")) || !bytes.Contains([]byte(out), []byte("entry=1")) || !bytes.Contains([]byte(out), []byte("error=boom")) {
		t.Fatalf("error logged as %q", out)
	}
}
