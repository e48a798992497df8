package worker_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// heldAdmit holds up the answer of each admission (Ledger.Admit: its keys
// hold the Page's send log, sends) until until(n) for the n-th one (from 1)
// says, and counts them.
type heldAdmit struct {
	sends string
	until func(n int64) time.Time
	n     atomic.Int64
}

func (*heldAdmit) DialHook(next redis.DialHook) redis.DialHook { return next }

func (*heldAdmit) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (s *heldAdmit) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil || !strings.HasPrefix(cmd.Name(), "eval") {
			return err
		}
		for _, a := range cmd.Args() {
			if v, ok := a.(string); ok && v == s.sends {
				time.Sleep(time.Until(s.until(s.n.Add(1))))
				break
			}
		}
		return err
	}
}

// TestWindowEndsDuringSecondAdmission_audit20: a reply whose window is open
// at the check after its first admission, but whose first admission's
// answer came late (more than a second after it began: a loaded machine),
// so that it is admitted again before the send, and whose window ends while
// that second admission waits (it can wait up to ~2 s for a send slot), is
// not sent: it is archived with the window's reason, as a reply past its
// window at the check is, and its target is not recorded as sent.
// Seen failing before the fix: the window was checked before the second
// admission only, and the reply went out past its window.
func TestWindowEndsDuringSecondAdmission_audit20(t *testing.T) {
	t.Parallel() // waits for the reply's window to end
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 2002})
	page := h.pages[0].ID
	r := h.addComments(page, 1, "Hello")[0]
	win := intake.Window(&h.pages[0], r.Target.Kind)
	end := time.Now().Add(8 * time.Second) // the reply's window ends then
	r.Created = end.Add(-win).UnixMilli()
	if time.Until(time.UnixMilli(r.Created).Add(win)) < 5*time.Second {
		t.Fatal("the window's end is too close")
	}

	rdb := tasks.NewRedisClient(asynq.RedisClientOpt{Addr: h.db.Addr, DB: h.db.DB})
	held := &heldAdmit{sends: h.ledger.PageKey(page, "sends"), until: func(n int64) time.Time {
		if n == 1 {
			// Answered late (admitted again before the send), but inside
			// the window: the check after it passes.
			return time.UnixMilli(r.Created).Add(win - 500*time.Millisecond)
		}
		// The second admission waits past the window's end.
		return time.UnixMilli(r.Created).Add(win + 300*time.Millisecond)
	}}
	rdb.AddHook(held)
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true})
	t.Cleanup(func() { ledger.Close(); _ = rdb.Close() })
	var logs lockedBuffer
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Ledger = ledger
		p.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h.enqueueAll(t, []tasks.Reply{r})
	ti := h.waitTask(t, r, 30*time.Second, nil, asynq.TaskStateArchived, asynq.TaskStateCompleted)
	if n := logs.count("admitted again before sending"); n != 1 {
		t.Fatalf("%d second admissions, want 1: the test did not reach the send past the first window check", n)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Fatalf("the comment got %d replies sent after its window ended, want 0", n)
	}
	if ti.State != asynq.TaskStateArchived || !strings.Contains(ti.LastErr, "outside the Page's reply window") {
		t.Errorf("task %v with %q, want archived with the window's reason", ti.State, ti.LastErr)
	}
	if e, err := h.ledger.Get(context.Background(), page, r.Target); err != nil || e.Status == tasks.StatusSent || e.Status == tasks.StatusFailed {
		t.Errorf("entry %+v %v: want it neither sent nor failed (a wider max_age may queue it again)", e, err)
	}
	if n := held.n.Load(); n != 2 {
		t.Errorf("%d admissions, want 2", n)
	}
}
