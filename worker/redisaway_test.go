package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestShutdownWithRedisAway: a worker whose Redis went away still stops
// within its budget (ShutdownTimeout, then asynq's last writes failing fast):
// its server client's wait for Redis (tasks.NewServerRedisClient) ends when
// the worker shuts down. Without that it took 50–70s, past the 40s the
// role commands promise.
func TestShutdownWithRedisAway(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
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

// TestRedisAwayUsesNoRetry: while the ledger's Redis cannot be reached, replies
// go back on the queue without using a retry, so an outage longer than
// worker.max_retry's backoffs (here 1 retry) archives none; when Redis is
// back each gets its one reply. Before, each failed reservation used a retry
// (and with max_retry 1 the second archived a reply never sent).
func TestRedisAwayUsesNoRetry(t *testing.T) {
	t.Parallel() // mostly waits while Redis is away
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 11})
	cut := redistest.NewCut(t, h.db.Addr)
	ledger := tasks.NewLedger(tasks.NewRedisClient(asynq.RedisClientOpt{Addr: cut.Addr(), DB: h.db.DB}), tasks.LedgerOptions{Batch: true})
	t.Cleanup(ledger.Close)
	rs := h.addComments(h.pages[0].ID, 5, "Thanks")
	ctx := context.Background()
	for _, r := range rs {
		if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	cut.Down()
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Ledger, p.MaxRetry = ledger, 1 })
	time.Sleep(8 * time.Second) // reservations fail (each in about 2s): each reply is tried several times
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	if qi, err := insp.GetQueueInfo(tasks.QueueReplies); err != nil || qi.Archived > 0 {
		t.Fatalf("while Redis was away: %v; queues: %s", err, h.queueSummary())
	}
	cut.Up()
	h.waitSent(t, rs, 20*time.Second)
	h.checkExactlyOnce(t, rs)
	for _, r := range rs {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
		if err != nil {
			t.Fatal(err)
		}
		if ti.Retried != 0 {
			t.Errorf("%s used %d retries on a Redis outage", r.Target, ti.Retried)
		}
	}
}
