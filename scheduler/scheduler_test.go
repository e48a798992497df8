package scheduler

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

func TestAlignedEvery(t *testing.T) {
	tests := []struct {
		name string
		spec string
		from time.Time
		want time.Time
	}{
		{"seconds", "@every 1s", time.Unix(100, 300e6), time.Unix(101, 0)},
		{"minute from mid-minute", "@every 1m", time.Unix(125, 0), time.Unix(180, 0)},
		{"on the boundary", "@every 1m", time.Unix(120, 0), time.Unix(180, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := config.ParseSchedule(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			if got := aligned(s).Next(tt.from); !got.Equal(tt.want) {
				t.Fatalf("Next(%v) = %v, want %v", tt.from.Unix(), got.Unix(), tt.want.Unix())
			}
		})
	}
	s, _ := config.ParseSchedule("*/5 * * * *")
	if r := retentionOf(aligned(s), time.Now()); r != MinRetention {
		t.Fatalf("retention of a 5-minute schedule = %s, want %s", r, MinRetention)
	}
	s, _ = config.ParseSchedule("@every 2h")
	if r := retentionOf(aligned(s), time.Now()); r != 4*time.Hour {
		t.Fatalf("retention of @every 2h = %s, want 4h", r)
	}
}

// TestReplicas: two schedulers side by side enqueue one poll per Page and
// slot; a broken Page gets none.
func TestReplicas(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	ledger := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	pages := []config.Page{{ID: "111", Schedule: "@every 1s"}, {ID: "222", Schedule: "@every 1s"}}
	ctx := context.Background()
	if _, err := ledger.Pause(ctx, "222", time.Minute, "page_broken: token expired"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := time.Now()
	var ss []*Scheduler
	m := metrics.New()
	for range 2 {
		s, err := New(Params{Redis: opt, Pages: pages, Ledger: ledger, Logger: log, PollAtStart: true, Metrics: m})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	// The slots' outcomes, as the scheduler's /metrics shows them.
	count := func(page, outcome string) float64 {
		var d dto.Metric
		if err := m.PollsScheduled.WithLabelValues(page, outcome).Write(&d); err != nil {
			t.Fatal(err)
		}
		return d.GetCounter().GetValue()
	}
	// Three slots of each Page, however slowly a loaded machine runs them.
	deadline := time.Now().Add(30 * time.Second)
	for count("111", "enqueued") < 3 || count("222", "page_broken") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: 111 enqueued %v, 222 page_broken %v; want 3 slots each", count("111", "enqueued"), count("222", "page_broken"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range ss {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := s.Shutdown(sctx); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	elapsed := time.Since(start)
	ins := asynq.NewInspector(opt)
	defer ins.Close()
	infos, err := ins.ListPendingTasks(tasks.QueuePolls, asynq.PageSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	slots := map[int64]bool{}
	atStart := 0
	for _, ti := range infos {
		var p tasks.Poll
		if err := json.Unmarshal(ti.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.PageID != "111" {
			t.Errorf("poll of broken page %s enqueued", p.PageID)
		}
		// A poll at start is named after the Page's next slot (a second
		// on); it may share its slot with a scheduled poll of the other
		// replica, started in the next second.
		if want := tasks.StartPollTaskID(p.PageID, time.Unix(p.Slot+1, 0)); ti.ID == want {
			atStart++
			continue
		}
		if want := tasks.PollTaskID(p.PageID, time.Unix(p.Slot, 0)); ti.ID != want {
			t.Errorf("task id %s, want %s", ti.ID, want)
		}
		if ti.Retention < MinRetention || ti.MaxRetry != DefaultMaxRetry || ti.Timeout != tasks.PollTimeout {
			t.Errorf("task %s: retention %s, max retry %d, timeout %s", ti.ID, ti.Retention, ti.MaxRetry, ti.Timeout)
		}
		slots[p.Slot] = true
	}
	// One per second elapsed, plus the poll at start (two when the
	// replicas started in different seconds: a slot of one second apart).
	if max := int(elapsed/time.Second) + 3; len(infos) > max || len(infos) < 3 || atStart < 1 || atStart > 2 {
		t.Fatalf("%d poll tasks (%d at start) in %s from two schedulers, want at most %d (one per slot)", len(infos), atStart, elapsed, max)
	}
	if len(slots) != len(infos)-atStart {
		t.Fatalf("%d tasks for %d slots", len(infos)-atStart, len(slots))
	}
	// Every task enqueued once, the other scheduler's try at it taken, the
	// broken Page's slots skipped.
	enq, taken, broken := count("111", "enqueued"), count("111", "taken"), count("222", "page_broken")
	if int(enq) != len(infos) || taken < 1 || broken < 3 || count("222", "enqueued") != 0 {
		t.Fatalf("polls scheduled: 111 enqueued %v (%d tasks), taken %v; 222 page_broken %v", enq, len(infos), taken, broken)
	}
}

// TestStartDoesNotWaitForRedis: the polls at start run in the background, so
// a scheduler whose Redis accepts connections and never answers still starts
// (its role's health server and signal handling come next) and stops. Each
// of those polls would wait 10 s for Redis: five Pages, 50 s.
func TestStartDoesNotWaitForRedis(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() }) // held open, never answered
		}
	}()
	var pages []config.Page
	for i := range 5 {
		pages = append(pages, config.Page{ID: strconv.Itoa(100 + i), Schedule: "@every 1h"})
	}
	s, err := New(Params{Redis: asynq.RedisClientOpt{Addr: ln.Addr().String()}, Pages: pages,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), PollAtStart: true})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- s.Start() }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Start waited for a Redis that does not answer")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestSlotsAreScheduledTimes: a scheduled poll's slot is the time cron
// scheduled it for, not the clock of the moment its job ran (which a loaded
// machine delays past a second boundary: two replicas would then enqueue two
// polls of one slot), and without PollAtStart no poll is enqueued at start.
// Params.Now, the clock of poll-at-start slots, is set an hour ahead, so a
// slot taken from it, or a poll at start, shows.
func TestSlotsAreScheduledTimes(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	m := metrics.New()
	s, err := New(Params{Redis: opt, Pages: []config.Page{{ID: "111", Schedule: "@every 1s"}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: m,
		Now: func() time.Time { return time.Now().Add(time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	enqueued := func() float64 {
		var d dto.Metric
		if err := m.PollsScheduled.WithLabelValues("111", "enqueued").Write(&d); err != nil {
			t.Fatal(err)
		}
		return d.GetCounter().GetValue()
	}
	deadline := time.Now().Add(30 * time.Second)
	for enqueued() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %v polls enqueued, want 2", enqueued())
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	ins := asynq.NewInspector(opt)
	defer ins.Close()
	infos, err := ins.ListPendingTasks(tasks.QueuePolls, asynq.PageSize(1000))
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) < 2 {
		t.Fatalf("%d poll tasks, want at least 2", len(infos))
	}
	for _, ti := range infos {
		var p tasks.Poll
		if err := json.Unmarshal(ti.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if slot := time.Unix(p.Slot, 0); slot.Before(start.Truncate(time.Second)) || slot.After(end) {
			t.Errorf("poll task %s for slot %s, outside the run's %s to %s: not a time cron scheduled",
				ti.ID, slot.Format(time.RFC3339), start.Format(time.RFC3339), end.Format(time.RFC3339))
		}
	}
}
