package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/proctest"
)

// TestHandshakeModeLogWithoutSecrets_audit13: a refused webhook handshake
// logs its hub.mode (clipped), a value of an unauthenticated request: one
// holding a secret of the configuration (a Page's token, the app secret,
// the verify token, an API token, a Redis password) was written into the
// log as sent. It is logged without it, whether the verify token was
// wrong (403) or right (400, mode not subscribe).
func TestHandshakeModeLogWithoutSecrets_audit13(t *testing.T) {
	e := newWebhookEnv(t)
	const apiToken, redisPassword = "apiTokenForTheHandshakeAudit13", "redisPasswordForTheHandshakeAudit13"
	logs := &proctest.Buffer{}
	srv := httptest.NewServer(api.NewWebhook(api.WebhookParams{
		VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: e.enq, Pages: e.pages,
		Secrets: []string{apiToken, redisPassword},
		Logger:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}))
	t.Cleanup(srv.Close)
	secrets := []string{e.pages[0].AccessToken, e.pages[1].AccessToken, whAppSecret, whVerifyToken, apiToken, redisPassword}
	for _, s := range secrets {
		// Whole, and past the clip (64 characters), where the clipped
		// mode kept the secret's start.
		for _, mode := range []string{s, "subscribe-" + s, strings.Repeat("m", 58) + s} {
			for _, tok := range []string{whVerifyToken, "wrong-token"} {
				q := url.Values{"hub.mode": {mode}, "hub.verify_token": {tok}, "hub.challenge": {"c"}}.Encode()
				resp, err := http.Get(srv.URL + "/webhook?" + q)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusForbidden {
					t.Fatalf("handshake with mode %.6s...: %d, want 400 or 403", mode, resp.StatusCode)
				}
			}
		}
	}
	out := logs.String()
	if !strings.Contains(out, "hub.mode is not subscribe") || !strings.Contains(out, "hub.verify_token") {
		t.Fatalf("the refused handshakes were not logged:\n%s", out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s[:8]) {
			t.Errorf("the log holds a secret (%.6s...):\n%s", s, out)
		}
	}
}
