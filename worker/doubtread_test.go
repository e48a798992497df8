package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestDoubtCheckTakesConversationRead: the check of a doubtful conversation
// reply reads the conversation, and that read takes a slot of the Page's
// conversation read schedule like the poll's and the API's (Meta allows
// about 2 calls a second there). With the schedule booked seconds ahead the
// reply goes back to the queue, the doubt kept, and reads nothing until its
// slot; then it checks and sends once.
func TestDoubtCheckTakesConversationRead(t *testing.T) {
	t.Parallel() // mostly waits out a booked read schedule
	h, r := lostAnswerReply(t)
	h.pages[0].Rate = config.Rate{N: 1, Per: time.Second}
	ctx := context.Background()
	lim := worker.ConversationReadLimit(&h.pages[0])
	var booked time.Duration
	for range 10 {
		w, err := h.ledger.TakeReadKey(ctx, r.PageID, "reads:conversations", lim)
		if err != nil {
			t.Fatal(err)
		}
		booked = w
	}
	start := time.Now()
	if booked < 3*time.Second {
		t.Fatalf("the conversation read schedule is booked %s ahead, want at least 3s", booked)
	}
	h.startWorker(t, 2)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	// Put back well before the booked slots run out: nothing read, nothing
	// sent, the doubt kept.
	h.waitPutBack(t, r, booked-time.Since(start), nil)
	if time.Since(start) < booked {
		if n := h.sb.Calls()[sandbox.EndpointObject]; n != 0 {
			t.Fatalf("the doubt check read the conversation %d times while its read schedule was booked %s ahead", n, booked)
		}
		if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status != tasks.StatusUnknown {
			t.Fatalf("entry while waiting for a read slot: %+v %v, want unknown", e, err)
		}
		// The send slot the put-back attempt booked (1 s at 1/s) was given
		// back: the Page's send schedule is not ahead of now.
		tat, _ := h.db.Client.Get(ctx, h.ledger.PageKey(r.PageID, "rate")).Int64()
		if ahead := time.Duration(tat-time.Now().UnixMicro()) * time.Microsecond; ahead > 500*time.Millisecond {
			t.Fatalf("the Page's send schedule is %s ahead after a reply went back unsent", ahead)
		}
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Fatalf("%s got %d messages, want 1", r.PSID, n)
	}
	if n := h.sb.Calls()[sandbox.EndpointObject]; n == 0 {
		t.Fatalf("the conversation was not read before sending (calls %v)", h.sb.Calls())
	}
}
