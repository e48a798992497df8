package bench

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestRunPipeline runs a small pipeline comparison end to end: both runs drain
// every task, the sandbox records one send per reply, and the figures are sane.
func TestRunPipeline(t *testing.T) {
	db := redistest.New(t)
	res, err := RunPipeline(context.Background(), PipelineOptions{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}, N: 500, Concurrency: 20})
	if err != nil {
		t.Fatal(err)
	}
	if res.BarePerSec <= 0 || res.PipePerSec <= 0 || res.Ratio <= 0 {
		t.Fatalf("result %+v", res)
	}
	t.Logf("bare %.0f/s pipeline %.0f/s ratio %.2f", res.BarePerSec, res.PipePerSec, res.Ratio)
}

// TestDequeueLatency times asynq's dequeue round trips in both phases; the
// ones that ran alongside a ledger pipeline are some of the reply path's.
func TestDequeueLatency(t *testing.T) {
	db := redistest.New(t)
	res, err := RunPipeline(context.Background(), PipelineOptions{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}, N: 300, Concurrency: 20, DequeueLatency: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*DequeueLatency{"bare": res.BareDequeue, "pipeline": res.PipeDequeue} {
		// At least one dequeue per task, each a round trip that takes time.
		if d == nil || d.All.N < res.N || d.All.P50 <= 0 || d.All.P99 < d.All.P50 {
			t.Fatalf("%s dequeues: %+v", name, d)
		}
	}
	if res.BareDequeue.WithLedger.N != 0 || res.PipeDequeue.WithLedger.N > res.PipeDequeue.All.N {
		t.Fatalf("dequeues alongside the ledger: bare %d, pipeline %d of %d", res.BareDequeue.WithLedger.N, res.PipeDequeue.WithLedger.N, res.PipeDequeue.All.N)
	}
	t.Logf("bare %s; pipeline %s; %d alongside the ledger: %s", res.BareDequeue.All.Micros(), res.PipeDequeue.All.Micros(),
		res.PipeDequeue.WithLedger.N, res.PipeDequeue.WithLedger.Micros())
	plain, err := RunPipeline(context.Background(), PipelineOptions{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}, N: 100, Concurrency: 20})
	if err != nil {
		t.Fatal(err)
	}
	if plain.BareDequeue != nil || plain.PipeDequeue != nil {
		t.Fatal("dequeue latency measured without DequeueLatency")
	}
}
