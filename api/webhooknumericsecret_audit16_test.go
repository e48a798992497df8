package api_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestWebhookNumericSecretKeepsRealIDs_audit16: a secret made only of an
// id's characters (a numeric API token or Redis password) cannot be told
// from part of a Graph id, so a change whose comment_id or post_id holds
// one is queued all the same (config.IDHoldsSecret): dropped, a real
// comment would get no reply. Meta's ids are digits and underscores, so no
// other secret can be part of one.
func TestWebhookNumericSecretKeepsRealIDs_audit16(t *testing.T) {
	e := newWebhookEnv(t)
	const numeric = "1000000000000599"
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(api.NewWebhook(api.WebhookParams{
		VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: e.enq, Pages: e.pages, Logger: log,
		Secrets: []string{numeric, "12345678", "00000000_"},
	}))
	t.Cleanup(srv.Close)
	e.srv = srv
	page := e.pages[0].ID
	post := page + "_1"
	body := `{"object":"page","entry":[{"id":"` + page + `","time":1,"changes":[` +
		commentChange(page, post, "122100000000000019_"+numeric, "42", "add") + `,` +
		commentChange(page, post, "12345678_00000000_1", "43", "add") + `]}]}`
	if code, resp := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
		t.Fatalf("status %d (%s)", code, resp)
	}
	if n := e.queued(t); n != 2 {
		t.Errorf("%d webhook items queued, want 2: a real comment id holding a numeric secret was dropped\n%s", n, e.logs.String())
	}
}
