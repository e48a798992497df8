package api_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestDistinctConversationsCannotPushPollBack_audit12: at a slow rate (4/m,
// a conversation read every 15 s) a conversation reply whose slot is past
// its wait is answered 503, the slot booked and held for its conversation.
// Each request for another conversation (any id: the read, which would
// refuse an unknown one, comes in the slot) booked and held the next slot
// after the last, without bound: a burst of them (a caller's backlog, or a
// hostile one) pushed the Page's next free read slot, the poll's, back by
// one interval each (12 requests: 3 minutes; thousands: days). A request may
// book and hold a slot only up to two of the schedule's intervals ahead (at
// least its own wait); one further is answered 503 with the time to it,
// booking nothing.
func TestDistinctConversationsCannotPushPollBack_audit12(t *testing.T) {
	var pages []config.Page
	e := newEnv(t, func(p *api.Params) {
		p.Pages[0].Rate = config.Rate{N: 4, Per: time.Minute}
		pages = p.Pages
	})
	lim := worker.ConversationReadLimit(&pages[0])
	const n = 12
	bodies := conversationBodies(e, n, 6600000)
	if resp, b := e.request(t, "POST", "/v1/replies", testToken, bodies[0]); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("first conversation reply: %d %s, want 202 (its slot now)", resp.StatusCode, b)
	}
	for i, b := range bodies[1:] {
		resp, out := e.request(t, "POST", "/v1/replies", testToken, b)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("conversation reply %d: %d %s, want 503 (its slot is past its wait)", i+1, resp.StatusCode, out)
		}
		retryAfter(t, resp)
	}
	// The poll's view: the Page's next free conversation read slot.
	wait, err := e.ledger.TakeReadWithin(context.Background(), e.page.ID, "reads:conversations", lim, time.Microsecond)
	if !errors.Is(err, tasks.ErrReadLater) && err != nil {
		t.Fatal(err)
	}
	if most := 3 * lim.Interval; wait > most {
		t.Errorf("after %d requests for distinct conversations the Page's next free read slot is %s away (%.0f intervals), want at most %s",
			n, wait.Round(time.Second), float64(wait)/float64(lim.Interval), most)
	}
}
