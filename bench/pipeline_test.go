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
