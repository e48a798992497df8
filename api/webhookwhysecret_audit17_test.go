package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestWebhookIgnoredChangeWhyHoldsNoSecret_audit17: a signed change that
// is ignored is logged with why ("field X", "verb X", "item X"), and the
// field, verb and item were the delivery's own text, logged whole: one
// holding a secret of the configuration printed it, as 4102858 kept the
// ids holding one out of the logs. The why is shown without it.
func TestWebhookIgnoredChangeWhyHoldsNoSecret_audit17(t *testing.T) {
	e := newWebhookEnv(t)
	page, token := e.pages[0].ID, e.pages[0].AccessToken
	post := page + "_1"
	for _, tc := range []struct{ name, change string }{
		{"field", `{"field":"` + token + `","value":{"item":"comment","verb":"add","comment_id":"1_5","post_id":"` + post + `"}}`},
		{"verb", commentChange(page, post, "1_6", "42", token)},
		{"item", `{"field":"feed","value":{"item":"` + token + `","verb":"add","comment_id":"1_7","post_id":"` + post + `","from":{"id":"42"}}}`},
		{"verb of a hide", `{"field":"feed","value":{"item":"comment","verb":"hide` + token + `","comment_id":"1_8","post_id":"` + post + `","from":{"id":"42"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"object":"page","entry":[{"id":"` + page + `","time":1,"changes":[` + tc.change + `]}]}`
			code, resp := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)})
			if code != http.StatusOK {
				t.Fatalf("status %d (%s), want 200", code, resp)
			}
			if strings.Contains(resp, token) {
				t.Errorf("answer holds the token: %s", resp)
			}
			if logs := e.logs.String(); strings.Contains(logs, token) {
				t.Errorf("the webhook's log holds the token:\n%s", logs)
			}
			if n := e.queued(t); n != 0 {
				t.Errorf("%d webhook items queued, want none", n)
			}
		})
	}
}
