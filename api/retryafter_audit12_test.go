package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/tasks"
)

// TestLogoutRedisAwayRetryAfter_audit12: a sign-out that cannot record the
// session as ended (Redis away) is answered 503 telling to sign out again
// when Redis is back; as the API's other 503s for Redis away, it carries a
// Retry-After (it had none).
func TestLogoutRedisAwayRetryAfter_audit12(t *testing.T) {
	e, cut := newCutEnv(t, nil)
	ck := signIn(t, e.url, testToken)
	cut.Down()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/logout", nil)
	req.AddCookie(ck)
	resp := send(t, req)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("logout with Redis away: %d, want 503", resp.StatusCode)
	}
	if ra := retryAfter(t, resp); ra < 1 {
		t.Errorf("logout's Retry-After %d, want at least 1", ra)
	}
}

// awayMarks fails every mark as a Redis out of reach does.
type awayMarks struct{}

func (awayMarks) MarkHidden(context.Context, string, string, time.Time) (bool, error) {
	return false, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
}

func (awayMarks) UnmarkHidden(context.Context, string, string, time.Time) (bool, error) {
	return false, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
}

func (awayMarks) MarkRemoved(context.Context, string, tasks.Target) (bool, error) {
	return false, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
}

// TestWebhookRedisAwayRetryAfter_audit12: a delivery Redis cannot take (its
// items or its marks) is answered 503, which Meta delivers again on its own
// schedule; the answer says when this server expects to take it, as the
// API's 503s for Redis away do (Retry-After 2), where it had none.
func TestWebhookRedisAwayRetryAfter_audit12(t *testing.T) {
	e := newWebhookEnv(t)
	srv := httptest.NewServer(api.NewWebhook(api.WebhookParams{
		VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: awayIntake{}, Hidden: awayMarks{}, Pages: e.pages,
		Logger: slog.New(slog.DiscardHandler),
	}))
	t.Cleanup(srv.Close)
	page := e.pages[0].ID
	for _, verb := range []string{"add", "remove"} {
		body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[%s]}]}`, page,
			commentChange(page, page+"_1", page+"_1_901", "555", verb))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", sign(whAppSecret, body))
		resp := send(t, req)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("delivery (%s) with Redis away: %d, want 503", verb, resp.StatusCode)
		}
		if ra := retryAfter(t, resp); ra < 1 {
			t.Errorf("delivery (%s): Retry-After %d, want at least 1", verb, ra)
		}
	}
}
