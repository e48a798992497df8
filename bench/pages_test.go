package bench

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestRunPages runs both runs on a few Pages: the good Pages get every reply
// in both, and the throttled and broken Pages send nothing.
func TestRunPages(t *testing.T) {
	db := redistest.New(t)
	res, err := RunPages(context.Background(), PagesOptions{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB},
		Pages: 20, PerPage: 5, Duration: 500 * time.Millisecond, Concurrency: 10, Producers: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []PagesRun{res.Baseline, res.WithBad} {
		if r.Replies < 40 || r.Sent != r.Replies || r.Latency.N != r.Sent || r.Throughput <= 0 {
			t.Errorf("run %+v", r)
		}
		t.Logf("bad %v: %d/%d at %.0f/s, p50 %.1f ms p99 %.1f ms; bad Pages sent %d, refused %d",
			r.Bad, r.Sent, r.Replies, r.Throughput, r.Latency.P50, r.Latency.P99, r.BadSent, r.BadRefused)
	}
	if res.Baseline.BadSent == 0 || res.Baseline.BadRefused != 0 {
		t.Errorf("baseline: the first two Pages sent %d, refused %d", res.Baseline.BadSent, res.Baseline.BadRefused)
	}
	if res.WithBad.BadSent != 0 || res.WithBad.BadRefused == 0 {
		t.Errorf("bad Pages: sent %d, refused %d", res.WithBad.BadSent, res.WithBad.BadRefused)
	}
	if m := MedianPagesResults([]PagesResult{res}); m.Baseline.Sent != res.Baseline.Sent || m.WithBad.Latency != res.WithBad.Latency {
		t.Errorf("median of one run %+v", m)
	}
}
