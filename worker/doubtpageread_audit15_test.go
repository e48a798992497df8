package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestDoubtCheckTakesPageRead_audit15: the check of a doubtful comment reply
// reads the comment's private_reply_conversation, a read Meta counts with the
// Page's feed, comments and webhook items (code 80001 past it). It takes a
// slot of the Page's read schedule as those reads do: a worker SIGKILLed
// mid-send leaves up to a slot's worth of claims that lapse together, and
// their checks, run at once beside the webhook items' paced reads, got the
// Page throttled (a soak: two 80001 pauses a minute apart on one Page).
// With the schedule booked seconds ahead the reply goes back to the queue,
// the doubt kept, and reads nothing until its slot; then it checks and sends
// once.
func TestDoubtCheckTakesPageRead_audit15(t *testing.T) {
	t.Parallel() // mostly waits out a booked read schedule
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 61})
	h.pages[0].Rate = config.Rate{N: 1, Per: time.Second}
	page := h.pages[0].ID
	r := h.addComments(page, 1, "Thanks for your comment!")[0]
	h.lostAnswer(t, r)
	ctx := context.Background()
	lim := worker.LimitOf(&h.pages[0], 0)
	var booked time.Duration
	for range 10 {
		w, err := h.ledger.TakeReadKey(ctx, page, "reads", lim)
		if err != nil {
			t.Fatal(err)
		}
		booked = w
	}
	start := time.Now()
	if booked < 3*time.Second {
		t.Fatalf("the Page's read schedule is booked %s ahead, want at least 3s", booked)
	}
	h.startWorker(t, 2)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	// Put back for the read slot, or (the bug) checked and sent at once.
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String()); err == nil &&
			(ti.State == asynq.TaskStateRetry || ti.State == asynq.TaskStateScheduled) {
			break
		}
		if e, err := h.ledger.Get(ctx, page, r.Target); err == nil && e.Status == tasks.StatusSent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply %s neither put back nor sent (queues: %s)", r.Target, h.queueSummary())
		}
	}
	if time.Since(start) < booked {
		if n := h.sb.Calls()[sandbox.EndpointObject]; n != 0 {
			t.Fatalf("the doubt check read the comment %d times while the Page's read schedule was booked %s ahead", n, booked)
		}
		if e, err := h.ledger.Get(ctx, page, r.Target); err != nil || e.Status != tasks.StatusUnknown {
			t.Fatalf("entry while waiting for a read slot: %+v %v, want unknown", e, err)
		}
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	h.checkExactlyOnce(t, []tasks.Reply{r})
	if n := h.sb.Calls()[sandbox.EndpointObject]; n == 0 {
		t.Fatalf("the comment was not checked before sending (calls %v)", h.sb.Calls())
	}
}
