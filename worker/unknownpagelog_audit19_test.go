package worker_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// TestUnknownPageFailuresLoggedOncePerPage_audit19: a worker whose config
// lacks two Pages runs a backlog of their replies until each is archived.
// Every run is a failure retried later, but the WARN line says so once per
// Page per logspace.Period (the others at debug), not once per run: each
// Page has its line, far fewer lines than runs, and every reply still has
// its own "task archived" line.
func TestUnknownPageFailuresLoggedOncePerPage_audit19(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 193})
	const perPage, maxRetry = 10, 3
	rs := append(h.addComments(h.pages[0].ID, perPage, "Hello"), h.addComments(h.pages[1].ID, perPage, "Hello")...)
	var buf lockedBuffer
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) {
		p.Pages = []config.Page{{ID: "1000000000000001", AccessToken: "other-page-token", Rate: config.Rate{N: 10, Per: time.Second}, Burst: 1}}
		p.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))
		p.MaxRetry = maxRetry
	})
	h.enqueueAll(t, rs)
	for _, r := range rs {
		h.waitArchived(t, r, 60*time.Second)
	}
	if n := buf.count(`msg="task archived"`); n != len(rs) {
		t.Errorf("%d archived lines, want one per reply (%d)", n, len(rs))
	}
	retried := buf.count(`msg="task failed; retried later"`)
	if runs := len(rs) * maxRetry; retried > runs/4 {
		t.Errorf("%d WARN lines for %d failed runs of 2 Pages, want about one per Page", retried, runs)
	}
	buf.mu.Lock()
	out := buf.b.String()
	buf.mu.Unlock()
	for _, p := range h.pages[:2] {
		found := false
		for _, l := range strings.Split(out, "\n") {
			found = found || strings.Contains(l, `msg="task failed; retried later"`) && strings.Contains(l, "page_id="+p.ID)
		}
		if !found {
			t.Errorf("no retried-later line for Page %s:\n%s", p.ID, out)
		}
	}
}
