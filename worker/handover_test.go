package worker_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// sendRefusingGraph serves the sandbox, except that it answers a send for which
// refuse (given the request's recipient) says so with body, counting them.
func sendRefusingGraph(t *testing.T, h *harness, refuse func(recipient string) bool, body string) *atomic.Int32 {
	t.Helper()
	var refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/messages") {
			b, _ := io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(b))
			q, _ := url.ParseQuery(string(b))
			if refuse(q.Get("recipient")) {
				refused.Add(1)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, body)
				return
			}
		}
		h.sb.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	h.srv = srv
	return &refused
}

// TestThreadControlledByAnotherApp: Messenger's handover protocol gave one
// person's thread to another app (a helpdesk inbox), and Graph refuses the
// reply with code 10, subcode 2018300. That is one thread, not the Page: the
// Page is not paused (before: 5 minutes, again at every attempt, holding all
// its replies), the Page's other replies flow, and the refused one is
// retried, not archived, and sent once the thread comes back, with no doubt
// check (nothing was sent).
func TestThreadControlledByAnotherApp(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 20, Seed: 23})
	page := h.pages[0].ID
	rs := h.conversationReplies(page, "Thanks for your message!")
	if len(rs) < 2 {
		t.Fatalf("only %d conversations", len(rs))
	}
	held, other := rs[0], rs[1]
	var handedBack atomic.Bool
	refused := sendRefusingGraph(t, h, func(recipient string) bool {
		return !handedBack.Load() && strings.Contains(recipient, `"`+held.PSID+`"`)
	}, `{"error":{"message":"(#10) Message failed to send because another app is controlling this thread now.","type":"OAuthException","code":10,"error_subcode":2018300,"fbtrace_id":"Avs8o4VvHNJZo04PY2ZGdAp"}}`)
	h.startWorker(t, 2)
	ctx := context.Background()
	h.enqueueAll(t, []tasks.Reply{held})
	deadline := time.Now().Add(10 * time.Second)
	for refused.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := refused.Load(); n < 2 {
		t.Fatalf("the held thread's reply was tried %d times, want it retried", n)
	}
	if d, reason, err := h.ledger.Paused(ctx, page); err != nil || d > 0 {
		t.Fatalf("Page paused for %s (%q, %v) by one person's thread control", d, reason, err)
	}
	h.enqueueAll(t, []tasks.Reply{other})
	h.waitSent(t, []tasks.Reply{other}, 10*time.Second)
	if e, err := h.ledger.Get(ctx, page, held.Target); err != nil || e.Status == tasks.StatusFailed || e.Status == tasks.StatusSent {
		t.Fatalf("held reply's entry %+v (%v), want it still to be sent", e, err)
	}
	handedBack.Store(true)
	h.waitSent(t, []tasks.Reply{held}, 15*time.Second)
	if n := h.sb.SendCount(held.PSID); n != 1 {
		t.Fatalf("%d replies reached the person whose thread came back, want 1", n)
	}
}

// TestMessengerBlockPausesPage: Graph's 2022 (people reported the Page's
// messages; the Page may not send through the Messenger Platform for up to
// 24 hours) blocks the Page: it is paused as for a policy block, its replies
// kept, instead of every queued reply being sent into the block and
// archived as failed for good (before: 3 of 3).
func TestMessengerBlockPausesPage(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 53})
	page := h.pages[0].ID
	rs := h.addComments(page, 3, "Thanks")
	refused := sendRefusingGraph(t, h, func(string) bool { return true },
		`{"error":{"message":"(#2022) People have been reporting content that your Page is sending. Out of the interest of our users, your Page has been blocked from sending messages via the Messenger Platform. This block may persist for 24 hours.","type":"OAuthException","code":2022,"fbtrace_id":"AbC3dEf5gHi7jKl9mNo1pQr"}}`)
	h.startWorker(t, 1)
	ctx := context.Background()
	h.enqueueAll(t, rs)
	deadline := time.Now().Add(10 * time.Second)
	for refused.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second)
	d, reason, err := h.ledger.Paused(ctx, page)
	if err != nil || d < 59*time.Minute || tasks.PauseKind(reason) != tasks.PausePolicyBlock {
		t.Errorf("Page paused %s (%q, %v), want a policy_block of an hour", d, reason, err)
	}
	for _, r := range rs {
		if e, err := h.ledger.Get(ctx, page, r.Target); err != nil || e.Status == tasks.StatusFailed {
			t.Errorf("reply %s: entry %+v (%v), want it kept for after the block", r.Target, e, err)
		}
	}
	if n := refused.Load(); n != 1 {
		t.Errorf("%d sends into the block, want 1", n)
	}
}

// TestPersonGapNotHeldByOwnBooking: with person_gap on, a conversation reply
// whose first send Graph refuses for good reason but definitely (another app
// controls the thread: nothing sent) is retried after its backoff, not held
// by the booking of the person's send slot that its own refused attempt
// made. Before, the retry waited out the whole gap (here 10 s; at 1h, a
// flaky thread's retries an hour apart, up to past Messenger's window).
func TestPersonGapNotHeldByOwnBooking(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 20, Seed: 23})
	h.pages[0].PersonGap = 10 * time.Second
	held := h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
	var n atomic.Int32
	sendRefusingGraph(t, h, func(recipient string) bool {
		return strings.Contains(recipient, `"`+held.PSID+`"`) && n.Add(1) == 1
	}, `{"error":{"message":"(#10) Message failed to send because another app is controlling this thread now.","type":"OAuthException","code":10,"error_subcode":2018300}}`)
	h.startWorker(t, 2)
	start := time.Now()
	h.enqueueAll(t, []tasks.Reply{held})
	h.waitSent(t, []tasks.Reply{held}, 30*time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("reply sent %s after a refused attempt that sent nothing (backoff 20ms); want about the backoff, not person_gap", d.Round(time.Millisecond))
	}
}
