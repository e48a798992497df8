package worker_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// TestUnknownPageArchivesRunAgainByTheWorkerWithIt_audit19: a worker whose
// config lacks a Page runs beside one that has it, on one Redis database (a
// second process on another config, or an old worker of a rolling update
// still running after a new one started). A backlog of the Page's replies
// goes out at the Page's rate: the worker with the Page puts back what its
// rate cannot send yet, and the one without it, its slots free, takes most
// of the put-backs when they come due, fails them, uses up their retries
// and archives them. The worker with the Page, already started, runs them
// again (as a worker's start does): every reply is sent, once.
func TestUnknownPageArchivesRunAgainByTheWorkerWithIt_audit19(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 191})
	h.pages[0].Rate = config.Rate{N: 2, Per: time.Second}
	rs := h.addComments(h.pages[0].ID, 30, "Hello")
	var wrongLog lockedBuffer
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) {
		p.Pages = []config.Page{{ID: "1000000000000001", AccessToken: "other-page-token", Rate: config.Rate{N: 10, Per: time.Second}, Burst: 1}}
		p.Logger = slog.New(slog.NewTextHandler(&wrongLog, nil))
	})
	// The first replies reach the worker without the Page alone, and it
	// archives them (before, which worker took the put-backs was left to
	// the host's timing: on a loaded one, the worker with the Page took
	// them all, nothing was archived, and the test did not test the run
	// again). Then the worker with the Page starts, and the others come
	// while both run.
	h.enqueueAll(t, rs[:5])
	deadline := time.Now().Add(60 * time.Second)
	for wrongLog.count("task archived") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the worker without the Page archived none of its replies (%d failed runs)", wrongLog.count("task failed; retried later"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Enqueuer = h.enq
		p.StalePausesCheckedEvery = 300 * time.Millisecond
	})
	h.enqueueAll(t, rs[5:])
	h.waitSent(t, rs, 90*time.Second)
	h.checkExactlyOnce(t, rs)
}
