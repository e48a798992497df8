package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
)

// TestShutdownWithRedisAway: a worker whose Redis went away still stops
// within its budget (ShutdownTimeout, then asynq's last writes failing fast):
// its server client's wait for Redis (tasks.NewServerRedisClient) ends when
// the worker shuts down. Without that it took 50–70s, past the 40s the
// role commands promise.
func TestShutdownWithRedisAway(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on a refused port")
	}
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 7})
	cut := redistest.NewCut(t, h.db.Addr)
	w := h.startWorkerOn(t, asynq.RedisClientOpt{Addr: cut.Addr(), DB: h.db.DB}, 4)
	time.Sleep(time.Second) // the server is dequeuing, heart-beating
	cut.Down()
	time.Sleep(3 * time.Second) // its calls are now waiting for Redis

	start := time.Now()
	w.Shutdown(context.Background())
	took := time.Since(start)
	t.Logf("shutdown with Redis away took %s", took.Round(time.Millisecond))
	// The budget the worker has in the role commands' stop time
	// (cmd/pagereply: workerDrain, 10s) is the bound.
	if budget := 10 * time.Second; took > budget {
		t.Errorf("shutdown with Redis away took %s, more than the worker's %s of the stop budget", took, budget)
	}
}
