package worker_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestPutBackNotLoggedAsFailure: a reply put back for its Page's pause uses
// no retry and is no failure: the worker logs no "task failed" line for it.
func TestPutBackNotLoggedAsFailure(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 91})
	page := h.pages[0].ID
	if set, err := h.ledger.Pause(context.Background(), page, time.Minute, "throttled: usage headers near the limit (97%)"); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
	var buf proctest.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Logger = log })
	r := h.addComments(page, 1, "Thanks!")[0]
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitPutBack(t, r, 10*time.Second, nil)
	if s := buf.String(); strings.Contains(s, "task failed") || strings.Contains(s, r.Target.String()) {
		t.Fatalf("a put-back logged as a failure:\n%s", s)
	}
}
