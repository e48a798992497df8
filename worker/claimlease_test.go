package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestNoSendAfterClaimLost: a reply that waits for its send slot after its
// reservation can outlive its claim's lease, and another attempt of the same
// task may then have claimed and settled the target. The send must not go
// out: admission checks that the claim is still the waiting reply's own.
func TestNoSendAfterClaimLost(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 61})
	page := h.pages[0].ID
	h.pages[0].Rate = config.Rate{N: 5, Per: time.Second}
	r := h.addComments(page, 1, "Hello")[0]
	ctx := context.Background()

	// The Page's send log is full for the next few seconds, so the reply
	// waits at admission after it has claimed its target.
	due := float64(time.Now().Add(2 * time.Second).UnixMicro())
	for i := range 20 {
		h.db.Client.ZAdd(ctx, h.ledger.PageKey(page, "sends"), redis.Z{Score: due, Member: "other-" + strconv.Itoa(i)})
	}
	h.startWorker(t, 2)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, err := h.ledger.Get(ctx, page, r.Target)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status == tasks.StatusClaimed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply never claimed its target: %+v", e)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Meanwhile another attempt took the target over and sent the reply.
	if err := h.ledger.MarkSent(ctx, page, r.Target, "m_other_attempt"); err != nil {
		t.Fatal(err)
	}

	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	deadline = time.Now().Add(30 * time.Second)
	for {
		q, err := insp.GetQueueInfo(tasks.QueueReplies)
		if err == nil && q.Pending+q.Active+q.Scheduled+q.Retry == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply task not settled: %+v %v", q, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Fatalf("the waiting reply sent %d times after another attempt had settled its target, want 0", n)
	}
	if e, _ := h.ledger.Get(ctx, page, r.Target); e.Status != tasks.StatusSent || e.MessageID != "m_other_attempt" {
		t.Fatalf("entry %+v, want the other attempt's send kept", e)
	}
}
