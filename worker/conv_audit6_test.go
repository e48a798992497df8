package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// answeredConversation adds a conversation whose person wrote at wrote and,
// unless pageAt is zero, a message of the Page's at pageAt, and returns the
// reply to the person's message as the poll queues it (Created set), queued
// at enqueued.
func answeredConversation(t *testing.T, h *harness, psid string, wrote, pageAt, enqueued time.Time) (tasks.Reply, string) {
	t.Helper()
	page := h.pages[0].ID
	conv, mid := h.sb.AddMessage(page, sandbox.User{ID: psid, Name: "Ana"}, "do you ship to Spain?", wrote)
	if conv == "" {
		t.Fatal("sandbox: no conversation")
	}
	var answer string
	if !pageAt.IsZero() {
		if answer = h.sb.AddPageMessage(page, psid, "Yes we do, Ana!", pageAt); answer == "" {
			t.Fatal("sandbox: no Page message")
		}
	}
	return tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindMessage, ID: mid}, PSID: psid, ConversationID: conv,
		Text: "Thanks for your message!", Source: tasks.SourcePoll, Created: wrote.UnixMilli(), EnqueuedAt: enqueued.UnixMilli()}, answer
}

// TestConversationReplyAnsweredWhileWaiting_audit6: a conversation reply that
// waited (a pause, a backlog) while someone at the Page answered the person
// in the inbox is not sent: the person would get a second, unasked-for
// answer. The worker reads the conversation before sending a reply queued
// more than a minute ago, records the target as sent with the Page's answer,
// and sends nothing. Messenger's instant reply (within 10 s) is no answer:
// that reply is sent.
func TestConversationReplyAnsweredWhileWaiting_audit6(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 61})
	now := time.Now()
	answered, answer := answeredConversation(t, h, "61000001", now.Add(-20*time.Minute), now.Add(-5*time.Minute), now.Add(-19*time.Minute))
	instant, _ := answeredConversation(t, h, "61000002", now.Add(-20*time.Minute), now.Add(-20*time.Minute+2*time.Second), now.Add(-19*time.Minute))
	h.startWorker(t, 2)
	h.enqueueAll(t, []tasks.Reply{answered, instant})
	h.waitSent(t, []tasks.Reply{answered, instant}, 30*time.Second)
	if n := h.sb.SendCount(answered.PSID); n != 0 {
		t.Errorf("the person the Page answered in the inbox got %d more messages, want 0", n)
	}
	if n := h.sb.SendCount(instant.PSID); n != 1 {
		t.Errorf("the person with only an instant reply got %d messages, want 1", n)
	}
	e, err := h.ledger.Get(context.Background(), answered.PageID, answered.Target)
	if err != nil || e.MessageID != answer {
		t.Errorf("answered target's entry %+v %v, want sent with the Page's message %s", e, err, answer)
	}
}

// TestConversationDoubtAnsweredByPage_audit6: a conversation reply whose
// earlier attempt's outcome is unknown, where the check finds that attempt
// did not get through but someone at the Page answered the person since: not
// sent either.
func TestConversationDoubtAnsweredByPage_audit6(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 62})
	now := time.Now()
	r, answer := answeredConversation(t, h, "62000001", now.Add(-20*time.Minute), now.Add(-time.Minute), now)
	h.lostAnswer(t, r)
	h.startWorker(t, 2)
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := h.sb.SendCount(r.PSID); n != 0 {
		t.Errorf("the person the Page answered got %d more messages, want 0", n)
	}
	if e, err := h.ledger.Get(context.Background(), r.PageID, r.Target); err != nil || e.MessageID != answer {
		t.Errorf("entry %+v %v, want sent with the Page's message %s", e, err, answer)
	}
}

// TestPollConversationsThrottledMidListing_audit6: Graph throttles (613) the
// second page of a Page's conversations listing. The poll stops there, the
// Page is paused (no more calls until access is regained) and the poll state
// is not moved past what was not read; once the pause is over, the next poll
// reads the listing again and every person's message is queued exactly once.
func TestPollConversationsThrottledMidListing_audit6(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 63})
	pages := conversationPages(h)
	page := pages[0].ID
	now := time.Now()
	var targets []string
	for i := range 60 {
		_, mid := h.sb.AddMessage(page, sandbox.User{ID: fmt.Sprintf("6300%04d", i), Name: "Writer"}, "hello", now.Add(-time.Duration(i+1)*time.Minute))
		targets = append(targets, "message:"+mid)
	}
	var throttled atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/conversations") && r.URL.Query().Get("after") != "" && throttled.CompareAndSwap(false, true) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"message":"(#613) Calls to this api have exceeded the rate limit.","type":"OAuthException","code":613,"fbtrace_id":"A1"}}`))
			return
		}
		h.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p := h.pollParams(pages)
	p.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
	pl := worker.NewPoller(p)
	ctx := context.Background()
	first, err := pl.Poll(ctx, page, false)
	if graph.ClassOf(err) != graph.ClassThrottled || !throttled.Load() {
		t.Fatalf("first poll: %v (throttle served %v), want the throttle", err, throttled.Load())
	}
	if d, reason, err := h.ledger.Paused(ctx, page); err != nil || d <= 0 || tasks.PauseKind(reason) != tasks.PauseThrottled {
		t.Fatalf("after a throttled listing the Page is paused %s (%q, %v), want throttled", d, reason, err)
	}
	if _, err := h.ledger.LiftPause(ctx, page); err != nil {
		t.Fatal(err)
	}
	second, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tg := range targets {
		if !queued(t, h, tg) {
			t.Errorf("%s not queued after the throttled poll and the next", tg)
		}
	}
	if n := first.Enqueued() + second.Enqueued(); n != len(targets) {
		t.Errorf("%d + %d replies queued, want %d, each once", first.Enqueued(), second.Enqueued(), len(targets))
	}
}
