package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestGetReplyPageOfTask: a reply whose task is queued reports the task's
// Page and no next attempt (it is pending, not scheduled), whatever Page
// ?page_id= names: the query only narrows the ledger lookup once the task is
// gone.
func TestGetReplyPageOfTask(t *testing.T) {
	const second = "987654321"
	e := newEnv(t, func(p *api.Params) {
		p.Pages = append(p.Pages, config.Page{ID: second, AccessToken: "tok2"})
	})
	c := e.sb.AllComments(e.page.ID)[0].ID
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)); st != http.StatusAccepted {
		t.Fatalf("reply: %d %v", st, m)
	}
	st, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+c+"?page_id="+second, testToken, "")
	if st != http.StatusOK || m["state"] != "pending" || m["page_id"] != e.page.ID {
		t.Errorf("reply queued on %s, asked with page_id=%s: %d %v, want 200 pending on %s", e.page.ID, second, st, m, e.page.ID)
	}
	if _, ok := m["next_attempt_at"]; ok {
		t.Errorf("pending reply %v has a next_attempt_at", m)
	}
}

// TestConversationRepliesWithoutGraph: a server with no Graph client answers
// a conversation reply 400 naming conversation_id, and queues nothing.
func TestConversationRepliesWithoutGraph(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Graph = nil })
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"conversation_id":"t_1","text":"hi"}`, e.page.ID))
	if st != http.StatusBadRequest || errField(m) != "conversation_id" || !strings.Contains(errMessage(m), "not available") {
		t.Errorf("conversation reply without Graph: %d %v, want 400 naming conversation_id", st, m)
	}
}

// TestConversationReplyCarriesCreated: the reply to a conversation carries
// when the person wrote the message it answers, so that the worker can
// refuse to send it once Messenger's 24-hour window has closed.
func TestConversationReplyCarriesCreated(t *testing.T) {
	now := time.Now()
	at := now.Add(-3 * time.Hour).Truncate(time.Second)
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: "100"}, {ID: "7001"}},
		Messages: []graph.Message{{ID: "m_2", Message: "hi?", From: &graph.User{ID: "7001"}, CreatedTime: graph.Time{Time: at}}}}
	page := &config.Page{ID: "100", AccessToken: "tok", MaxAge: 168 * time.Hour}
	var r tasks.Reply
	if err := api.ConversationReply(context.Background(), oneConversation{conv}, page, "t_1", now, &r); err != nil {
		t.Fatal(err)
	}
	if r.Created != at.UnixMilli() || r.ConversationID != "t_1" {
		t.Errorf("reply %+v: created %d, conversation %q; want %d, t_1", r, r.Created, r.ConversationID, at.UnixMilli())
	}
}

// TestHandlerPanicAnswered: a handler that panics is answered 500 in the
// API's error shape (not a dropped connection or an empty 200), the panic and
// the request are logged as errors, and the server goes on serving.
func TestHandlerPanicAnswered(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		p.Webhook = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })
	})
	st, m := e.do(t, http.MethodPost, "/webhook", "", "{}")
	if st != http.StatusInternalServerError || errMessage(m) != "internal error" {
		t.Errorf("panicking handler: %d %v, want 500 internal error", st, m)
	}
	if st, _ := e.do(t, http.MethodGet, "/healthz", "", ""); st != http.StatusOK {
		t.Errorf("after a panic, /healthz: %d", st)
	}
	logged := waitLog(t, e, `"path":"/webhook"`)
	if !strings.Contains(logged, `"msg":"api: handler panicked"`) || !strings.Contains(logged, `"level":"ERROR","msg":"http request"`) {
		t.Errorf("the panic or its 500 not logged as an error:\n%s", logged)
	}
}

// TestServiceUnavailableLoggedAsWarn: a 503 (a webhook delivery Redis could
// not take, which Meta sends again) is logged at WARN in the request log (the
// first in 10 s; TestTryAgainRequestLogSpaced_audit11), not at ERROR as a
// 500 is: it is a documented "try again" answer, not a bug.
func TestServiceUnavailableLoggedAsWarn(t *testing.T) {
	const failID = "1_999"
	e := newEnv(t, func(p *api.Params) {
		p.Webhook = api.NewWebhook(api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret,
			Intake: failingIntake{p.Enqueuer, failID}, Pages: p.Pages, Logger: p.Logger})
	})
	page := e.page.ID
	body := `{"object":"page","entry":[{"id":"` + page + `","time":1,"changes":[` + commentChange(page, page+"_1", failID, "100000000000077", "add") + `]}]}`
	if st := postSigned(t, e.url+"/webhook", sign(whAppSecret, body), body); st != http.StatusServiceUnavailable {
		t.Fatalf("delivery Redis cannot take: %d, want 503", st)
	}
	if logged := waitLog(t, e, `"path":"/webhook"`); !strings.Contains(logged, `"level":"WARN","msg":"http request"`) ||
		strings.Contains(logged, `"level":"ERROR","msg":"http request"`) {
		t.Errorf("503 not logged at WARN:\n%s", logged)
	}
}

// waitLog waits (bounded) until the server's log holds want, written after
// the answer, and returns the log.
func waitLog(t *testing.T, e *env, want string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(e.logs.String(), want) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	return e.logs.String()
}

// TestStartNeedsItsParts: Start refuses a server without its Enqueuer,
// Ledger or Inspector rather than serving requests it would crash on.
func TestStartNeedsItsParts(t *testing.T) {
	s := api.New(api.Params{Addr: "127.0.0.1:0", Tokens: []string{testToken}})
	if err := s.Start(); err == nil || err == api.ErrNoToken {
		_ = s.Shutdown(context.Background())
		t.Fatalf("Start without Enqueuer, Ledger and Inspector: %v, want an error naming them", err)
	}
}

// TestRequestLogPathClipped: a client's path of any length is logged
// clipped to 200 bytes, so no request can write a log line of its choosing
// length.
func TestRequestLogPathClipped(t *testing.T) {
	e := newEnv(t, nil)
	long := "/" + strings.Repeat("p", 1000)
	if st, _ := e.do(t, http.MethodGet, long, "", ""); st != http.StatusNotFound {
		t.Fatalf("GET of a long path: %d, want 404", st)
	}
	logged := waitLog(t, e, `"msg":"http request"`)
	if want := `"path":"` + long[:200] + `..."`; !strings.Contains(logged, want) {
		t.Errorf("request log line does not hold the path clipped to 200 bytes:\n%s", logged)
	}
}

// TestConversationReplySkipsEmptyParticipant: a participant without an id
// is no one to answer: the reply goes to the person listed after it.
func TestConversationReplySkipsEmptyParticipant(t *testing.T) {
	now := time.Now()
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: ""}, {ID: "100"}, {ID: "7001"}},
		Messages: []graph.Message{{ID: "m_2", Message: "hi?", From: &graph.User{ID: "7001"}, CreatedTime: graph.Time{Time: now.Add(-time.Hour)}}}}
	page := &config.Page{ID: "100", AccessToken: "tok"}
	var r tasks.Reply
	if err := api.ConversationReply(context.Background(), oneConversation{conv}, page, "t_1", now, &r); err != nil || r.PSID != "7001" {
		t.Errorf("participants with an empty id first: %v, PSID %q; want the person 7001", err, r.PSID)
	}
}

// blockingGraph holds every private reply until release is closed (or the
// send's context ends), then fails it transiently.
type blockingGraph struct {
	worker.Graph
	entered chan struct{}
	once    sync.Once
	release chan struct{}
}

func (g *blockingGraph) SendPrivateReply(ctx context.Context, _, _ string, _ graph.Recipient, _ string) (graph.SendResult, error) {
	g.once.Do(func() { close(g.entered) })
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 1200, Class: graph.ClassTransient, Message: "Temporary send message failure"}
}

// TestGetReplyActiveCountsItsAttempt: a reply whose send is under way is
// active with that attempt counted, not active with 0 attempts.
func TestGetReplyActiveCountsItsAttempt(t *testing.T) {
	e := newEnv(t, nil)
	var g *blockingGraph
	c := e.replyThrough(t, func(base worker.Graph) worker.Graph {
		g = &blockingGraph{Graph: base, entered: make(chan struct{}), release: make(chan struct{})}
		return g
	}, func(*worker.Params) {})
	t.Cleanup(func() { close(g.release) })
	select {
	case <-g.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the worker never sent the reply")
	}
	st, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+c, testToken, "")
	if st != 200 || m["state"] != "active" || m["attempts"] != 1.0 {
		t.Errorf("reply being sent: %d %v, want state active, 1 attempt", st, m)
	}
}

// TestConversationReplyNeedsMessageTime: a person's latest message that
// Graph gives without its created_time cannot be shown inside Messenger's
// 24-hour window: no reply is made (the poll skips it too), rather than a
// task without a time that the worker would send at any age.
func TestConversationReplyNeedsMessageTime(t *testing.T) {
	now := time.Now()
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: "100"}, {ID: "7001"}},
		Messages: []graph.Message{{ID: "m_2", Message: "hi?", From: &graph.User{ID: "7001"}}}}
	page := &config.Page{ID: "100", AccessToken: "tok", MaxAge: 168 * time.Hour}
	var r tasks.Reply
	err := api.ConversationReply(context.Background(), oneConversation{conv}, page, "t_1", now, &r)
	var ce *api.ConversationError
	if !errors.As(err, &ce) || ce.BadInput || r.Target.ID != "" {
		t.Errorf("latest message without a time: %v, reply %+v; want Graph's error and no target", err, r)
	}
}
