package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestConversationReplyNotStarvedByPoll_audit9: at a slow rate (20/m) the
// Page's conversation read schedule is a slot every 3 s, and a poll walking
// a long listing of conversations books its next slot the moment it has
// read one, so the next free slot stays 3 to 6 s ahead for as long as it
// reads. A conversation_id reply must still get its read (waiting for it)
// rather than a 503 at every try while the poll walks, and the Page reads
// no faster than its schedule.
func TestConversationReplyNotStarvedByPoll_audit9(t *testing.T) {
	t.Parallel() // mostly waits out a slow read schedule
	answeredWhilePollWalks(t, startPollWalk(t, 20, 300))
}

// pollWalk is a poll of a Page answering conversations, walking a long
// listing of conversations the Page answered (25 a page, each page read in
// a slot of the Page's conversation reads), running in the background and
// past its second page: what a conversation_id reply meets at a slow rate.
type pollWalk struct {
	e     *env
	page  string
	lim   tasks.Limit // the Page's conversation read schedule
	start time.Time   // when the poll began
	done  chan error  // the poll's result
}

// startPollWalk starts a pollWalk at perMinute on n conversations.
func startPollWalk(t *testing.T, perMinute, n int) *pollWalk {
	t.Helper()
	var pages []config.Page
	e := newEnv(t, func(p *api.Params) {
		p.Pages[0].Rate = config.Rate{N: perMinute, Per: time.Minute}
		p.Pages[0].ReplyTo = []string{config.ReplyConversations}
		p.Pages[0].DefaultText = "Thanks for your message!"
		pages = p.Pages
	})
	w := &pollWalk{e: e, page: e.page.ID, lim: worker.ConversationReadLimit(&pages[0]), done: make(chan error, 1)}
	now := time.Now()
	for i := range n {
		id := strconv.Itoa(6200000 + i)
		at := now.Add(-time.Hour + time.Duration(i)*time.Second)
		e.sb.AddMessage(w.page, sandbox.User{ID: id, Name: "Person " + id}, "hi", at)
		e.sb.AddPageMessage(w.page, id, "answered by hand", at.Add(time.Minute))
	}
	gs := httptest.NewServer(e.sb)
	t.Cleanup(gs.Close)
	client := asynq.NewClient(e.opt)
	t.Cleanup(func() { _ = client.Close() })
	pl := worker.NewPoller(worker.PollParams{
		Graph:  graph.New(graph.Config{BaseURL: gs.URL, Timeout: 5 * time.Second}),
		Ledger: e.ledger, Enqueuer: &tasks.Enqueuer{Client: client, Ledger: e.ledger, MaxRetry: 3}, Pages: pages,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	w.start = time.Now()
	go func() {
		_, err := pl.Poll(context.Background(), w.page, false)
		w.done <- err
	}()
	for e.sb.Calls()[sandbox.EndpointConversations] < 2 {
		select {
		case err := <-w.done:
			t.Fatalf("poll ended before its second page of conversations: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return w
}

// finish waits for the poll's end and checks that the Page's conversations
// were read no faster than its schedule.
func (w *pollWalk) finish(t *testing.T) {
	t.Helper()
	if err := <-w.done; err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(w.start)
	calls := w.e.sb.Calls()
	reads := calls[sandbox.EndpointConversations] + calls[sandbox.EndpointObject]
	if most := int(elapsed/w.lim.Interval) + 1; reads > most {
		t.Errorf("%d conversation reads in %s, more than the %d the Page's schedule (%s apart) allows", reads, elapsed.Round(time.Millisecond), most, w.lim.Interval)
	}
	t.Logf("%d conversation reads in %s", reads, elapsed.Round(time.Millisecond))
}

// answeredWhilePollWalks asks for a reply to a person who writes while w's
// poll walks the Page's conversations, up to 3 times a second apart: it must
// be accepted before the poll ends, and the Page read no faster than its
// schedule.
func answeredWhilePollWalks(t *testing.T, w *pollWalk) {
	t.Helper()
	e, page, start, done := w.e, w.page, w.start, w.done
	conv, _ := e.sb.AddMessage(page, sandbox.User{ID: "6100001", Name: "Waiting Person"}, "hello?", time.Now())
	b := fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"hello"}`, page, conv)
	const tries = 3
	status := 0
	for i := range tries {
		var m map[string]any
		status, m = e.do(t, "POST", "/v1/replies", testToken, b)
		if status != http.StatusServiceUnavailable {
			break
		}
		t.Logf("try %d at %s: 503 %s", i+1, time.Since(start).Round(time.Millisecond), errMessage(m))
		time.Sleep(time.Second)
	}
	select {
	case <-done:
		t.Fatal("the poll ended before the reply was answered: it no longer kept the read schedule booked")
	default:
	}
	if status != http.StatusAccepted {
		t.Fatalf("conversation reply answered %d after %d tries while a poll read the Page's conversations, want 202", status, tries)
	}
	w.finish(t)
}
