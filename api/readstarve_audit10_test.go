package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestConversationReplyNotStarvedBySlowPoll_audit10: at a rate under about
// 12/m the Page's conversation read slots are more than 5 s apart (8/m: 7.5
// s), and a poll that booked its next slot the moment it had read one kept
// the next free slot up to two intervals (15 s) ahead, past the 10 s the API
// waits: a conversation_id reply was answered 503 at every try while the
// poll walked the Page's conversations. The poll must leave the next free
// slot to the request (it is at most one interval away), and the Page read
// no faster than its schedule.
func TestConversationReplyNotStarvedBySlowPoll_audit10(t *testing.T) {
	t.Parallel() // mostly waits out a slow read schedule
	w := startPollWalk(t, 8, 100)
	// The poll has read its second page and booked (before the fix) its
	// third; a person writes while it reads older pages.
	time.Sleep(300 * time.Millisecond)
	answeredWhilePollWalks(t, w)
}

// TestConversationReplyRetryGetsHeldSlot_audit10: under 6/m a read slot is
// more than 10 s from the last (4/m: 15 s), so a conversation_id reply made
// just after a poll's read is answered 503 with the time to the next slot.
// Asked again then, it must get that slot: a poll waking for the same slot
// took it first, and every retry found the next one as far (503 while the
// poll walked), although the Page reads no faster than its schedule.
func TestConversationReplyRetryGetsHeldSlot_audit10(t *testing.T) {
	t.Parallel() // mostly waits out a slow read schedule
	w := startPollWalk(t, 4, 75)
	e, page, lim, start, done := w.e, w.page, w.lim, w.start, w.done
	// The poll has read its second page and booked (before the fix) its
	// third; a person writes while it reads older pages.
	time.Sleep(300 * time.Millisecond)
	conv, _ := e.sb.AddMessage(page, sandbox.User{ID: "6100001", Name: "Waiting Person"}, "hello?", time.Now())
	b := fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"hello"}`, page, conv)
	status, m := e.do(t, "POST", "/v1/replies", testToken, b)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("conversation reply answered %d %v just after a poll's read at 4/m, want 503 (the next slot is 15 s away)", status, m)
	}
	t.Logf("first try at %s: 503 %s", time.Since(start).Round(time.Millisecond), errMessage(m))
	// Asked again when told: at the slot.
	time.Sleep(lim.Interval)
	status, m = e.do(t, "POST", "/v1/replies", testToken, b)
	if status != http.StatusAccepted {
		t.Fatalf("conversation reply asked again when told answered %d (%s), want 202", status, errMessage(m))
	}
	select {
	case <-done:
		t.Fatal("the poll ended before the reply was answered: it no longer kept the read schedule booked")
	default:
	}
	w.finish(t)
}
