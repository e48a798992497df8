package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
)

// TestBatchUnknownFieldNextToReplies: a batch body with a member besides
// "replies" (a text or page_id meant for every item) is a 400 naming that
// member, and nothing of the batch is queued: silently dropped, the caller
// would believe their text or Page applied.
func TestBatchUnknownFieldNextToReplies(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	body := fmt.Sprintf(`{"replies":[{"page_id":%q,"comment_id":%q,"text":"hi"}],"text":"for all"}`, e.page.ID, c)
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body)
	if st != http.StatusBadRequest || errField(m) != "text" {
		t.Fatalf("batch with a member next to replies: %d %v, want 400 naming text", st, m)
	}
	if st, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+c, testToken, ""); st != http.StatusNotFound {
		t.Errorf("reply of a refused batch: %d %v, want 404 (not queued)", st, m)
	}
}

// TestRepliesFailedForGood409: a target the ledger has failed for good
// (Graph refused it, or its tasks ran out of retries too often) is a 409 in
// state archived saying why, not a 202 that queues it again.
func TestRepliesFailedForGood409(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	tg, err := tasks.ParseTarget("comment:" + c)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ledger.MarkFailed(context.Background(), e.page.ID, tg, "code 10903"); err != nil {
		t.Fatal(err)
	}
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c))
	if st != http.StatusConflict || m["state"] != "archived" || errField(m) != "comment_id" || !strings.Contains(errMessage(m), "for good") {
		t.Errorf("reply to a target failed for good: %d %v, want 409 archived naming comment_id", st, m)
	}
}

// TestGetReplyUnknownPageID: GET /v1/replies/{id}?page_id= with a Page not
// configured is a 400 naming page_id, not a 404 that reads as "no reply".
func TestGetReplyUnknownPageID(t *testing.T) {
	e := newEnv(t, nil)
	st, m := e.do(t, http.MethodGet, "/v1/replies/comment:1_2?page_id=999", testToken, "")
	if st != http.StatusBadRequest || errField(m) != "page_id" {
		t.Errorf("unknown page_id: %d %v, want 400 naming page_id", st, m)
	}
}

// TestConversationReplyGoesToPerson: the reply goes to the participant who is
// not the Page, whichever order Graph lists them in: never to the Page itself.
func TestConversationReplyGoesToPerson(t *testing.T) {
	now := time.Now()
	page := &config.Page{ID: "100", AccessToken: "tok"}
	msgs := []graph.Message{{ID: "m_2", Message: "hi?", From: &graph.User{ID: "7001"}, CreatedTime: graph.Time{Time: now.Add(-time.Hour)}}}
	for _, ps := range [][]graph.User{{{ID: "100"}, {ID: "7001"}}, {{ID: "7001"}, {ID: "100"}}} {
		var r tasks.Reply
		conv := graph.Conversation{ID: "t_1", Participants: ps, Messages: msgs}
		if err := api.ConversationReply(context.Background(), oneConversation{conv}, page, "t_1", now, &r); err != nil {
			t.Fatal(err)
		}
		if r.PSID != "7001" {
			t.Errorf("participants %v: reply to PSID %q, want the person 7001", ps, r.PSID)
		}
	}
	// Only the Page: no one to answer.
	var r tasks.Reply
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: "100"}}, Messages: msgs}
	if err := api.ConversationReply(context.Background(), oneConversation{conv}, page, "t_1", now, &r); err == nil {
		t.Errorf("conversation with only the Page: reply to %q, want an error", r.PSID)
	}
}

func (r *recordingIntake) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.items)
}

func webhookWith(t *testing.T, p api.WebhookParams) (*httptest.Server, *recordingIntake) {
	t.Helper()
	in := &recordingIntake{}
	p.Intake = in
	if p.Logger == nil {
		p.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	srv := httptest.NewServer(api.NewWebhook(p))
	t.Cleanup(srv.Close)
	return srv, in
}

func postSigned(t *testing.T, url, sig, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func commentDelivery(page string) string {
	return fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[%s]}]}`, page, commentChange(page, page+"_1", page+"_1_2", "555", "add"))
}

// TestWebhookNoAppSecretRefusesAll: without an app secret every delivery is
// refused, also one signed with the empty key (which anyone can make).
func TestWebhookNoAppSecretRefusesAll(t *testing.T) {
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, Pages: pages})
	body := commentDelivery("100")
	if st := postSigned(t, srv.URL, sign("", body), body); st != http.StatusUnauthorized {
		t.Errorf("delivery signed with the empty key, no app secret: %d, want 401", st)
	}
	if n := in.count(); n != 0 {
		t.Errorf("%d items queued from an unsigned delivery", n)
	}
}

// TestWebhookNoVerifyTokenRefusesHandshake: without a verify token
// configured, a handshake with an empty hub.verify_token is refused (403),
// not subscribed.
func TestWebhookNoVerifyTokenRefusesHandshake(t *testing.T) {
	srv, _ := webhookWith(t, api.WebhookParams{AppSecret: whAppSecret})
	resp, err := http.Get(srv.URL + "?hub.mode=subscribe&hub.verify_token=&hub.challenge=abc")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || string(b) == "abc" {
		t.Errorf("handshake without a configured verify token: %d %q, want 403", resp.StatusCode, b)
	}
}

// TestWebhookCommentsOnlyWhenPageRepliesToThem: a Page that replies to posts
// only gets no task for a comment change.
func TestWebhookCommentsOnlyWhenPageRepliesToThem(t *testing.T) {
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyPosts}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	body := commentDelivery("100")
	if st := postSigned(t, srv.URL, sign(whAppSecret, body), body); st != http.StatusOK {
		t.Fatalf("delivery: %d, want 200", st)
	}
	if n := in.count(); n != 0 {
		t.Errorf("comment change for a Page that replies to posts only: %d items queued, want 0", n)
	}
}

// TestWebhookHandshakeTokenNotLogged: the verify token, sent in the
// handshake's query, reaches no log line of the API server (its request log
// included), whether the handshake succeeds or not.
func TestWebhookHandshakeTokenNotLogged(t *testing.T) {
	var whLogs proctest.Buffer
	e := newEnv(t, func(p *api.Params) {
		p.Webhook = api.NewWebhook(api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret,
			Intake: &recordingIntake{}, Pages: p.Pages,
			Logger: slog.New(slog.NewTextHandler(&whLogs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	})
	for _, tok := range []string{whVerifyToken, whVerifyToken + "-wrong"} {
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {tok}, "hub.challenge": {"c123"}}
		resp, err := http.Get(e.url + "/webhook?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// The request log line is written after the answer: wait for both.
	for deadline := time.Now().Add(10 * time.Second); strings.Count(e.logs.String(), `"path":"/webhook"`) < 2 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	for name, logs := range map[string]string{"server": e.logs.String(), "webhook": whLogs.String()} {
		if strings.Contains(logs, whVerifyToken) {
			t.Errorf("%s log holds the verify token:\n%s", name, logs)
		}
		if name == "server" && strings.Count(logs, `"path":"/webhook"`) < 2 {
			t.Errorf("server log has no request line for /webhook (the test saw nothing):\n%s", logs)
		}
	}
}

// TestBatchEmpty: {"replies":[]} is a 400 naming replies, not a 207 with no
// results (which reads as a batch taken).
func TestBatchEmpty(t *testing.T) {
	e := newEnv(t, nil)
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, `{"replies":[]}`)
	if st != http.StatusBadRequest || errField(m) != "replies" {
		t.Errorf("empty batch: %d %v, want 400 naming replies", st, m)
	}
}

// TestGetReplyInDoubtWithoutTask: a reply whose send's outcome is unknown and
// whose task is gone is reported unknown (an attempt may have reached the
// person; no task of it is queued), never with an empty state. (It was
// reported active, which says a worker is at it.)
func TestGetReplyInDoubtWithoutTask(t *testing.T) {
	e := newEnv(t, nil)
	tg, err := tasks.ParseTarget("comment:1_2")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ledger.MarkUnknown(context.Background(), e.page.ID, tg, 0); err != nil {
		t.Fatal(err)
	}
	st, m := e.do(t, http.MethodGet, "/v1/replies/comment:1_2", testToken, "")
	if st != http.StatusOK || m["state"] != "unknown" {
		t.Errorf("reply in doubt without a task: %d %v, want 200 state unknown", st, m)
	}
}
