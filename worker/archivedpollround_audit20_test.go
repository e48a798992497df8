package worker_test

import (
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestArchivedPollRunByPeriodicRound_audit20: the poll of a Page just added
// (a rolling update), archived by a worker whose config lacks the Page, is
// run again by the periodic round of the archives (runArchivedOfOwnPages)
// of a worker that has the Page, as its replies and webhook items are: no
// restart needed (worker.Start does not run the archives; only the app's
// start does). The Page's older poll archived so, whose next slot was due
// by then, stays archived through later reads of the archive (run, the
// worker would skip it): the Page is read once.
// Seen failing before the fix: the round ran replies and webhook items
// only, and the poll stayed archived until a worker's restart.
func TestArchivedPollRunByPeriodicRound_audit20(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	r := newRollout(t, 2001, "20010001")
	h, pages, comment, insp := r.h, r.pages, r.comment, r.insp
	ids := r.archivePolls(t)

	o := &archiveReads{RedisClientOpt: h.opt}
	h.startWorkerOn(t, o, 4, func(p *worker.Params) {
		p.Pages = pages
		p.Poll = worker.NewPollHandler(h.pollParams(pages))
		p.Enqueuer = h.enq
		p.StalePausesCheckedEvery = 200 * time.Millisecond
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueuePolls, ids[0])
		if err == nil && ti.State == asynq.TaskStateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the running worker with the Page did not run its archived poll again: %+v %v", ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !queued(t, h, "comment:"+comment) {
		t.Errorf("the Page's archived poll run again: no reply task for its comment")
	}

	// The archive changes again (a task archived for a reason of its own):
	// the next rounds read it, and leave the older poll archived.
	ti, err := r.client.Enqueue(asynq.NewTask(tasks.TypePoll, []byte("not a poll")),
		asynq.Queue(tasks.QueuePolls), asynq.TaskID("archived-by-hand"), asynq.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := insp.ArchiveTask(tasks.QueuePolls, ti.ID); err != nil {
		t.Fatal(err)
	}
	from := o.rounds.Load()
	deadline = time.Now().Add(30 * time.Second)
	for o.rounds.Load() < from+3 {
		if time.Now().After(deadline) {
			t.Fatalf("the worker ran %d rounds in 30 s", o.rounds.Load()-from)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ti, err := insp.GetTaskInfo(tasks.QueuePolls, ids[1]); err != nil || ti.State != asynq.TaskStateArchived {
		t.Errorf("the Page's older archived poll: %+v %v; want it left archived", ti, err)
	}
	if n := h.sb.Calls()[sandbox.EndpointFeed]; n != 1 {
		t.Errorf("%d feed reads, want 1: the latest poll reads the Page once", n)
	}
}
