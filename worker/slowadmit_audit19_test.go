package worker_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestSlowAdmissionSendsOnceNoRetry_audit19: on a slow but healthy machine
// every admission's answer comes more than a second after it began, so each
// send is admitted again first (admitOrBack): the second admission finds the
// claim its own and admits it (the send log's member is the attempt's
// token: moved, not doubled), and each reply goes out once, with no
// put-back and no retry used, after exactly two admissions.
func TestSlowAdmissionSendsOnceNoRetry_audit19(t *testing.T) {
	t.Parallel() // each admission takes 1.2 s
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1917})
	page := h.pages[0].ID
	rs := h.addComments(page, 4, "Hello")

	rdb := tasks.NewRedisClient(asynq.RedisClientOpt{Addr: h.db.Addr, DB: h.db.DB})
	// Every admission's answer held up 1.2 s (heldAdmit), as a loaded machine may.
	slow := &heldAdmit{sends: h.ledger.PageKey(page, "sends"), until: func(int64) time.Time { return time.Now().Add(1200 * time.Millisecond) }}
	rdb.AddHook(slow)
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true})
	t.Cleanup(func() { ledger.Close(); _ = rdb.Close() })
	var logs lockedBuffer
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) {
		p.Ledger = ledger
		p.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h.enqueueAll(t, rs)
	h.waitSent(t, rs, 60*time.Second)
	h.waitQuiet(t, 10*time.Second)
	h.checkExactlyOnce(t, rs)
	if n := logs.count("admitted again before sending"); n != len(rs) {
		t.Errorf("%d sends admitted again, want %d (each answer came late)", n, len(rs))
	}
	if n := slow.n.Load(); n != int64(2*len(rs)) {
		t.Errorf("%d admissions for %d replies, want 2 each", n, len(rs))
	}
	if n := logs.count("task failed") + logs.count("put back"); n != 0 {
		t.Errorf("%d failed or put-back attempts on a slow machine, want 0", n)
	}
}
