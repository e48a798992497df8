package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// oneConversation answers every conversation read with c.
type oneConversation struct{ c graph.Conversation }

func (o oneConversation) Conversation(context.Context, string, string) (graph.Conversation, error) {
	return o.c, nil
}

// TestConversationReplyWindow: a conversation reply from the API honours the
// Page's max_age when it is shorter than Messenger's 24 hours.
func TestConversationReplyWindow(t *testing.T) {
	now := time.Now()
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: "100"}, {ID: "7001"}},
		Messages: []graph.Message{{ID: "m_2", Message: "hi?", From: &graph.User{ID: "7001"}, CreatedTime: graph.Time{Time: now.Add(-3 * time.Hour)}}}}
	for _, tc := range []struct {
		maxAge  time.Duration
		wantErr string
	}{
		{maxAge: 168 * time.Hour},
		{maxAge: 4 * time.Hour},
		{maxAge: 2 * time.Hour, wantErr: "max_age 2h0m0s"},
	} {
		page := &config.Page{ID: "100", AccessToken: "tok", MaxAge: tc.maxAge}
		var r tasks.Reply
		err := api.ConversationReply(context.Background(), oneConversation{conv}, page, "t_1", now, &r)
		var ce *api.ConversationError
		switch {
		case tc.wantErr == "" && (err != nil || r.Target.ID != "m_2"):
			t.Errorf("max_age %s: %v, reply %+v", tc.maxAge, err, r)
		case tc.wantErr != "" && (!errors.As(err, &ce) || !ce.BadInput || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("max_age %s: %v, want a bad-input error with %q", tc.maxAge, err, tc.wantErr)
		}
	}
}

// TestConversationReplyTargetsLikePoll: the API answers the same message the
// poll would (intake.ConversationItem), also when the newest message has no
// from: two targets for one person would mean two replies.
func TestConversationReplyTargetsLikePoll(t *testing.T) {
	now := time.Now()
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: "100"}, {ID: "7001"}},
		Messages: []graph.Message{
			{ID: "m_3", Message: "and one more", CreatedTime: graph.Time{Time: now.Add(-time.Minute)}},
			{ID: "m_2", Message: "hi?", From: &graph.User{ID: "7001"}, CreatedTime: graph.Time{Time: now.Add(-time.Hour)}},
		}}
	page := &config.Page{ID: "100", AccessToken: "tok", MaxAge: 168 * time.Hour}
	var r tasks.Reply
	if err := api.ConversationReply(context.Background(), oneConversation{conv}, page, "t_1", now, &r); err != nil {
		t.Fatal(err)
	}
	it, reason := intake.ConversationItem(page.ID, conv)
	if reason != "" || r.Target != it.Target {
		t.Errorf("API targets %s, the poll %s (%s)", r.Target, it.Target, reason)
	}
}

// TestConversationReadsPaced: the API's conversation reads keep to the
// Page's conversation read schedule (about 2 a second), and a paused Page is
// not read at all: the reply is answered 503.
func TestConversationReadsPaced(t *testing.T) {
	var mu sync.Mutex
	var reads []time.Time
	e := newEnv(t, func(p *api.Params) {
		sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 3, Comments: 4, Conversations: 8, Seed: 7})
		gs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/t_") {
				mu.Lock()
				reads = append(reads, time.Now())
				mu.Unlock()
			}
			sb.ServeHTTP(w, r)
		}))
		t.Cleanup(gs.Close)
		p.Graph = graph.New(graph.Config{BaseURL: gs.URL, Timeout: 2 * time.Second})
	})
	var items []string
	for _, c := range e.sb.Conversations(e.page.ID) {
		items = append(items, fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"hello"}`, e.page.ID, c.ID))
	}
	if len(items) < 5 {
		t.Fatalf("only %d conversations seeded", len(items))
	}
	status, _ := e.do(t, "POST", "/v1/replies", testToken, `{"replies":[`+strings.Join(items, ",")+`]}`)
	if status != http.StatusMultiStatus {
		t.Fatalf("batch: %d", status)
	}
	mu.Lock()
	n, span := len(reads), reads[len(reads)-1].Sub(reads[0])
	mu.Unlock()
	// Burst 1 at 2/s: n reads span at least (n-2) half seconds.
	if n != len(items) || span < time.Duration(n-2)*450*time.Millisecond {
		t.Errorf("%d conversation reads in %s for %d replies: not paced at 2/s", n, span, len(items))
	}
	if _, err := e.ledger.Pause(context.Background(), e.page.ID, time.Minute, "throttled: test"); err != nil {
		t.Fatal(err)
	}
	status, m := e.do(t, "POST", "/v1/replies", testToken, items[0])
	if status != http.StatusServiceUnavailable || !strings.Contains(fmt.Sprint(m), "paused") {
		t.Errorf("reply for a paused Page: %d %v, want 503", status, m)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reads) != n {
		t.Errorf("the conversation of a paused Page was read")
	}
}

// throttledReader answers every conversation read as Graph does for a Page
// it throttles.
type throttledReader struct{}

func (throttledReader) Conversation(context.Context, string, string) (graph.Conversation, error) {
	return graph.Conversation{}, &graph.Error{HTTPStatus: 403, Code: 4, Class: graph.ClassThrottled, Message: "(#4) Application request limit reached", RetryAfter: 3 * time.Minute}
}

// TestConversationReadThrottledPauses: a conversation read that Graph
// throttles pauses the Page for as long as Graph says, so that clients
// retrying the API do not keep calling a blocked Page.
func TestConversationReadThrottledPauses(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Graph = throttledReader{} })
	b := fmt.Sprintf(`{"page_id":%q,"conversation_id":"t_1","text":"hello"}`, e.page.ID)
	if status, m := e.do(t, "POST", "/v1/replies", testToken, b); status < 500 {
		t.Fatalf("throttled read: %d %v, want a 5xx", status, m)
	}
	d, reason, err := e.ledger.Paused(context.Background(), e.page.ID)
	if err != nil || d < 2*time.Minute || !strings.HasPrefix(reason, "throttled") {
		t.Fatalf("page paused for %s (%q, %v), want about 3 minutes, throttled", d, reason, err)
	}
	if status, m := e.do(t, "POST", "/v1/replies", testToken, b); status != http.StatusServiceUnavailable {
		t.Fatalf("while paused: %d %v, want 503", status, m)
	}
}

// countingReader counts conversation reads and answers them with c.
type countingReader struct {
	c     graph.Conversation
	reads atomic.Int32
}

func (r *countingReader) Conversation(context.Context, string, string) (graph.Conversation, error) {
	r.reads.Add(1)
	return r.c, nil
}

// TestConversationReadPausedDuringWait: a request that waits for the Page's
// conversation read slot, while Graph throttles the Page, reads nothing: it
// is answered 503 as any request for a paused Page.
func TestConversationReadPausedDuringWait(t *testing.T) {
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: "100"}, {ID: "7001"}},
		Messages: []graph.Message{{ID: "m_2", Message: "hi?", From: &graph.User{ID: "7001"}, CreatedTime: graph.Time{Time: time.Now().Add(-time.Hour)}}}}
	rd := &countingReader{c: conv}
	e := newEnv(t, func(p *api.Params) { p.Graph = rd })
	ctx := context.Background()
	pg := config.Page{ID: e.page.ID, AccessToken: e.page.Token}
	for i := 0; i < 3; i++ { // the poll took the next conversation read slots
		if _, err := e.ledger.TakeReadKey(ctx, e.page.ID, "reads:conversations", worker.ConversationReadLimit(&pg)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan int)
	go func() {
		status, _ := e.do(t, "POST", "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"conversation_id":"t_1","text":"hello"}`, e.page.ID))
		done <- status
	}()
	time.Sleep(300 * time.Millisecond) // the request waits for its slot, about a second ahead
	if _, err := e.ledger.Pause(ctx, e.page.ID, time.Minute, tasks.PauseThrottled+": (#4) Application request limit reached"); err != nil {
		t.Fatal(err)
	}
	if status := <-done; status != http.StatusServiceUnavailable {
		t.Errorf("answer %d, want 503 for a Page paused during the wait", status)
	}
	if n := rd.reads.Load(); n != 0 {
		t.Errorf("the conversation of a Page paused as throttled was read (%d reads)", n)
	}
}

// TestConversationReadGraphTimeout: a conversation read that Graph does not
// answer in time is Graph's failure, answered 502 and logged, as before the
// read was shared with pagereply enqueue; only a request that ends while it
// waits for its Page's read slot is the 503 "try again".
func TestConversationReadGraphTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	e := newEnv(t, func(p *api.Params) {
		p.Graph = graph.New(graph.Config{BaseURL: slow.URL, Timeout: 300 * time.Millisecond})
	})
	b := fmt.Sprintf(`{"page_id":%q,"conversation_id":"t_123456","text":"hello"}`, e.page.ID)
	status, m := e.do(t, "POST", "/v1/replies", testToken, b)
	if status != http.StatusBadGateway || !strings.Contains(e.logs.String(), "api: read conversation") {
		t.Errorf("a Graph timeout: %d %v, want 502 and a warning logged", status, m)
	}
}
