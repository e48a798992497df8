package bench

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/worker"
)

// TestRunLatency offers a small load: every reply is sent once and gets a
// latency, and the tuning is read from the worker.
func TestRunLatency(t *testing.T) {
	db := redistest.New(t)
	res, err := RunLatency(context.Background(), LatencyOptions{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB},
		Rates: []float64{100, 300}, Duration: 300 * time.Millisecond, Pages: 5, Concurrency: 10, Producers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Points) != 2 {
		t.Fatalf("points %+v", res.Points)
	}
	for _, p := range res.Points {
		if p.Sent != p.Replies || p.Latency.N != p.Replies || p.Latency.P50 <= 0 || p.Throughput <= 0 || p.Enqueued <= 0 {
			t.Errorf("point %+v", p)
		}
		t.Logf("%.0f/s offered: %d sent, p50 %.1f ms p99 %.1f ms, %.0f/s", p.Offered, p.Sent, p.Latency.P50, p.Latency.P99, p.Throughput)
	}
	if res.Tuning.TaskCheckInterval <= 0 || res.Tuning.DelayedTaskCheckInterval <= 0 || res.Tuning.Concurrency != 10 {
		t.Errorf("tuning %+v", res.Tuning)
	}
	if m := MedianLatencyResults([]LatencyResult{res, res, res}); len(m.Points) != 2 || m.Points[0].Latency != res.Points[0].Latency {
		t.Errorf("median of equal runs %+v", m)
	}
}

// TestTuning reads the defaults worker.New fills in; a renamed field would
// read as zero.
func TestTuning(t *testing.T) {
	tun := tuningOf(worker.New(worker.Params{}))
	if tun.Concurrency <= 0 || tun.TaskCheckInterval <= 0 || tun.DelayedTaskCheckInterval <= 0 || tun.MaxWait <= 0 || tun.GraphTimeout <= 0 {
		t.Fatalf("tuning %+v", tun)
	}
}
