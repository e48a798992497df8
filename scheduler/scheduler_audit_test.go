package scheduler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// pollAtStart runs a scheduler of one yearly Page (cron fires nothing while
// the test runs) through its polls at start, and returns the poll tasks.
func pollAtStart(t *testing.T, opt asynq.RedisClientOpt, ledger *tasks.Ledger, m *metrics.Metrics) []*asynq.TaskInfo {
	t.Helper()
	runPollsAtStart(t, Params{Redis: opt, Pages: []config.Page{{ID: "111", Schedule: "0 0 1 1 *"}}, Ledger: ledger, PollAtStart: true,
		Metrics: m, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ins := asynq.NewInspector(opt)
	defer ins.Close()
	infos, err := ins.ListPendingTasks(tasks.QueuePolls)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return infos
}

// TestPollWhenPauseUnreadable: a Page whose pause cannot be read is polled,
// not skipped: a missed poll is a missed reply; the poll reads the pause again.
func TestPollWhenPauseUnreadable(t *testing.T) {
	db := redistest.New(t)
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { dead.Close() })
	ledger := tasks.NewLedger(dead, tasks.LedgerOptions{})
	if infos := pollAtStart(t, asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}, ledger, metrics.New()); len(infos) != 1 {
		t.Fatalf("%d polls with the pause unreadable, want 1", len(infos))
	}
}

// TestBrokenPageSkipCounted: a broken Page's skipped poll shows in the
// poll-skipped metric under its reason.
func TestBrokenPageSkipCounted(t *testing.T) {
	db := redistest.New(t)
	ledger := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	if _, err := ledger.Pause(context.Background(), "111", time.Minute, "page_broken: token expired"); err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	if infos := pollAtStart(t, asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}, ledger, m); len(infos) != 0 {
		t.Fatalf("%d polls of a broken Page", len(infos))
	}
	var d dto.Metric
	if err := m.PollSkipped.WithLabelValues("111", tasks.PausePageBroken).Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.GetCounter().GetValue() != 1 {
		t.Fatalf("poll skipped %v, want 1", d.GetCounter().GetValue())
	}
}
