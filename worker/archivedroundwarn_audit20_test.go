package worker_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// TestArchivedRoundFailureWarns_audit20: a round over the archives that
// fails for a reason other than Redis being away (here the replies'
// archive a key of another type) is a WARN, spaced, naming the step: the
// replies a worker without their Page archived wait on the round, and
// before, its failures were at debug only, and they waited unseen.
func TestArchivedRoundFailureWarns_audit20(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 201})
	ctx := context.Background()
	const archive = "asynq:{replies}:archived"
	if err := h.db.Client.Set(ctx, archive, "not a sorted set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var log lockedBuffer
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Enqueuer = h.enq
		p.StalePausesCheckedEvery = 100 * time.Millisecond
		p.Logger = slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	const line = "the round over the archives failed: read the archives"
	deadline := time.Now().Add(20 * time.Second)
	for log.count(line) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no WARN of the failing round:\n%s", log.b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	log.mu.Lock()
	text := log.b.String()
	log.mu.Unlock()
	if !strings.Contains(text, "level=WARN") || !strings.Contains(text, "WRONGTYPE") {
		t.Errorf("the failing round's line is not a WARN naming Redis's answer:\n%s", text)
	}
	// Spaced: rounds every 100 ms for a second, one WARN (logspace.Period is 10 s).
	time.Sleep(time.Second)
	if n := log.count(line); n != 1 {
		t.Errorf("%d WARN lines of the failing round in a second of rounds every 100 ms, want 1", n)
	}
}
