package api

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestCollectorsDescribeWhatTheyCollect: the pause and queue collectors
// describe every metric they collect, with a Page paused and a queue in
// Redis, so that a registry's checks (the pedantic registry's, and the
// conflict checks at registration, which see only what Describe sends)
// hold for what /metrics serves.
func TestCollectorsDescribeWhatTheyCollect(t *testing.T) {
	db := redistest.New(t)
	ctx := context.Background()
	ledger := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	if _, err := ledger.Pause(ctx, "11", time.Hour, "throttled: test"); err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(db.Client)
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, []byte(`{}`), asynq.Queue(tasks.QueuePolls))); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(db.Client)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(&pauseCollector{ledger: ledger, pages: []string{"11", "22"}, log: log, now: time.Now}, newQueueCollector(insp, log, time.Now))
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	got := map[string]bool{}
	for _, f := range families {
		got[f.GetName()] = true
	}
	for _, name := range []string{"pagereply_page_paused", "pagereply_page_pause_remaining_seconds", "asynq_queue_size",
		"asynq_queue_latency_seconds", "asynq_queue_memory_usage_approx_bytes", "asynq_tasks_processed_total",
		"asynq_tasks_failed_total", "asynq_queue_paused_total"} {
		if !got[name] {
			t.Errorf("no %s gathered", name)
		}
	}
}
