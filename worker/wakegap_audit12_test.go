package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestWakePutBacksRunsPersonGapOnPacingChange_audit12: the replies put back
// for a person's person_gap wait for the gap the Page had then; when the
// config changes the Page's pacing (its rate, burst or person_gap: the start
// says so with Wake.Rate), they run now and meet the new gap (a gap lowered
// or turned off lets them go), as the rate's put-backs do. Another Page's
// put-backs and a failure's retry keep their time. Seen failing before the
// fix: a person_gap turned off (or set to 6m where 6h had been written by
// mistake) left them waiting for hours.
func TestWakePutBacksRunsPersonGapOnPacingChange_audit12(t *testing.T) {
	const gapErr = "put back for 5h0m0s: the person's last reply was less than person_gap ago"
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 1208})
	page, other := h.pages[0].ID, h.pages[1].ID
	pbs := []putBack{
		{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "gap", page: page, lastErr: gapErr, delay: time.Hour},
		{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "failed", page: page, lastErr: "graph: code 1200: Temporary send message failure", delay: time.Hour},
		{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "other-gap", page: other, lastErr: gapErr, delay: time.Hour},
	}
	leavePutBacks(t, h, pbs)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	woken, err := worker.WakePutBacks(context.Background(), insp, h.ledger, map[string]worker.Wake{page: {Rate: true}})
	if err != nil {
		t.Fatal(err)
	}
	if n := woken[page]; n.Replies != 1 || len(woken) != 1 {
		t.Errorf("woken %+v, want the one person_gap put-back of page %s", woken, page)
	}
	for _, pb := range pbs {
		ti, err := insp.GetTaskInfo(pb.queue, pb.id)
		if err != nil {
			t.Fatalf("%s: %v", pb.id, err)
		}
		if ran, want := ti.State == asynq.TaskStatePending, pb.id == "gap"; ran != want {
			t.Errorf("%s (%q): %s, want run now: %v", pb.id, pb.lastErr, ti.State, want)
		}
	}
}
