package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// sendRead sends req and returns its answer with the body read.
func sendRead(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// checkUnavailable fails unless resp is a 503 whose body is the API's error
// shape with retry_after equal to its Retry-After header.
func checkUnavailable(t *testing.T, what string, resp *http.Response, body []byte) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%s: %d %s, want 503", what, resp.StatusCode, body)
	}
	ra := retryAfter(t, resp)
	var m struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
		RetryAfter *int `json:"retry_after"`
	}
	if err := json.Unmarshal(body, &m); err != nil || m.Error.Message == "" {
		t.Errorf("%s: not the API's error shape (%v): %s", what, err, body)
	}
	if m.RetryAfter == nil || *m.RetryAfter != ra || ra < 1 {
		t.Errorf("%s: body %s, Retry-After %d; want the body's retry_after the same as the header", what, body, ra)
	}
}

// TestRedisAwayRetryAfterBody_audit13: every 503 of the API with a known wait
// (Redis away) carries it both in Retry-After and in the body's retry_after,
// as POST /v1/replies's does: GET /v1/replies/{id}, the monitor's API and
// POST /logout had the header only.
func TestRedisAwayRetryAfterBody_audit13(t *testing.T) {
	e, cut := newCutEnv(t, func(p *api.Params) {
		insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: "127.0.0.1:1"})
		t.Cleanup(func() { _ = insp.Close() })
		p.Inspector = insp
	})
	ck := signIn(t, e.url, testToken)
	cut.Down()

	body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, e.sb.AllComments(e.page.ID)[0].ID)
	resp, b := e.request(t, "POST", "/v1/replies", testToken, body)
	checkUnavailable(t, "POST /v1/replies", resp, b)
	resp, b = e.request(t, "GET", "/v1/replies/comment:1_2", testToken, "")
	checkUnavailable(t, "GET /v1/replies/{id}", resp, b)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/logout", nil)
	req.AddCookie(ck)
	resp, b = sendRead(t, req)
	checkUnavailable(t, "POST /logout", resp, b)
}

// TestMonitorRedisAwayRetryAfterBody_audit13: the monitor's API's 503 for
// Redis away has the body's retry_after beside its Retry-After.
func TestMonitorRedisAwayRetryAfterBody_audit13(t *testing.T) {
	db := redistest.New(t)
	cut := redistest.NewCut(t, db.Addr)
	opt := asynq.RedisClientOpt{Addr: cut.Addr(), DB: db.DB, DialTimeout: time.Second}
	rdb := tasks.NewRedisClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	e := newEnv(t, func(p *api.Params) {
		p.Redis = rdb
		p.RedisConnOpt = opt
	})
	cut.Down()
	resp, b := e.request(t, "GET", "/monitor/api/queues", testToken, "")
	checkUnavailable(t, "GET /monitor/api/queues", resp, b)
}

// TestWebhookRedisAwayRetryAfterBody_audit13: a delivery Redis cannot take
// is answered 503 with retry_after in its body as in its Retry-After.
func TestWebhookRedisAwayRetryAfterBody_audit13(t *testing.T) {
	e := newWebhookEnv(t)
	srv := httptest.NewServer(api.NewWebhook(api.WebhookParams{
		VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: awayIntake{}, Hidden: awayMarks{}, Pages: e.pages,
		Logger: slog.New(slog.DiscardHandler),
	}))
	t.Cleanup(srv.Close)
	page := e.pages[0].ID
	body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[%s]}]}`, page,
		commentChange(page, page+"_1", page+"_1_901", "555", "add"))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", sign(whAppSecret, body))
	resp, b := sendRead(t, req)
	checkUnavailable(t, "POST /webhook", resp, b)
}
