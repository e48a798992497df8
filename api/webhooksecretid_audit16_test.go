package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestWebhookIDHoldingSecretIsNotQueued_audit16: a signed feed change whose
// comment_id or post_id holds a secret of the configuration (a Page's
// access token, the app secret, the verify token) is ignored, as the API
// and enqueue refuse such an id: queued, the id became the webhook item's
// task id and payload, shown by the monitor, and the worker's log line for
// the item ("webhook item skipped ... item=webhook:comment:<token>")
// printed the token whole. Meta never sends one; only someone holding the
// app secret could, and the secret still stays out of Redis and the logs.
func TestWebhookIDHoldingSecretIsNotQueued_audit16(t *testing.T) {
	e := newWebhookEnv(t)
	page, token := e.pages[0].ID, e.pages[0].AccessToken
	post := page + "_1"
	for _, tc := range []struct{ name, entry, change, secret string }{
		{"comment_id is the Page's token", page, commentChange(page, post, token, "42", "add"), token},
		{"comment_id holds the app secret", page, commentChange(page, post, "1_"+whAppSecret, "42", "add"), whAppSecret},
		{"comment_id holds the verify token", page, commentChange(page, post, whVerifyToken, "42", "add"), whVerifyToken},
		{"a comment's post_id is the Page's token", page, commentChange(page, token, "1_77", "42", "add"), token},
		{"a visitor post's post_id is the Page's token", page,
			`{"field":"feed","value":{"item":"status","verb":"add","post_id":"` + token + `","from":{"id":"42","name":"Ana Lopez"},"message":"hi","created_time":1}}`, token},
		{"the entry's id is the Page's token", token, commentChange(page, post, "1_78", "42", "add"), token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"object":"page","entry":[{"id":"` + tc.entry + `","time":1,"changes":[` + tc.change + `]}]}`
			code, resp := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)})
			if code != http.StatusOK {
				t.Fatalf("status %d (%s), want 200: Meta would redeliver it for hours", code, resp)
			}
			if strings.Contains(resp, tc.secret) {
				t.Errorf("answer holds the secret: %s", resp)
			}
			if n := e.queued(t); n != 0 {
				t.Errorf("%d webhook items queued, want none: the task id and payload would hold the secret", n)
			}
			keys, err := e.db.Client.Keys(context.Background(), "*").Result()
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range keys {
				if strings.Contains(k, tc.secret) {
					t.Errorf("Redis key %q holds the secret", k)
				}
			}
			if strings.Contains(e.logs.String(), tc.secret) {
				t.Errorf("the webhook's log holds the secret:\n%s", e.logs.String())
			}
		})
	}
	// A delivery naming only its changed fields is said at WARN, with the
	// entry's id.
	body := `{"object":"page","entry":[{"id":"` + token + `","time":1,"changed_fields":["feed"]}]}`
	if code, resp := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
		t.Fatalf("changed_fields delivery: status %d (%s), want 200", code, resp)
	}
	if logs := e.logs.String(); strings.Contains(logs, token[:20]) || !strings.Contains(logs, "an entry id holding a secret") {
		t.Errorf("the WARN of a delivery without values names the token, or not that it held one:\n%s", logs)
	}
}
