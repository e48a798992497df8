package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestReplyTextHoldingASecretIsRefused: POST /v1/replies refuses, 400
// naming text, a reply text that holds a secret of the configuration: a
// Page's access token, an API token or one of Params.Secrets (the app
// secret, a Redis password...), alone or in a batch. Queued, the secret
// would sit in the task payload and the monitor and be sent to the person
// the reply answers. The answer never quotes the secret; a text holding a
// secret shorter than 8 bytes, as the config's check, and an ordinary text
// are queued.
func TestReplyTextHoldingASecretIsRefused(t *testing.T) {
	const appSecret, short = "app-secret-for-the-audit5-test", "abc"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{appSecret, short} })
	post := func(n int) string { return fmt.Sprintf("%s_%d", e.page.ID, n) }
	for i, secret := range []string{e.page.Token, testToken, appSecret} {
		body := fmt.Sprintf(`{"page_id":%q,"post_id":%q,"text":"hello %s!"}`, e.page.ID, post(i+1), secret)
		resp, b := e.request(t, "POST", "/v1/replies", testToken, body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"field":"text"`) || strings.Contains(string(b), secret) {
			t.Errorf("text holding secret %d: %d %s; want 400 naming text, without the secret", i, resp.StatusCode, b)
		}
		if st, _ := e.do(t, "GET", "/v1/replies/post:"+post(i+1), testToken, ""); st != 404 {
			t.Errorf("text holding secret %d: its reply answers %d, want 404 (not queued)", i, st)
		}
	}
	batch := fmt.Sprintf(`{"replies":[{"page_id":%q,"post_id":%q,"text":"ok %s"},{"page_id":%q,"post_id":%q,"text":"tok %s"}]}`,
		e.page.ID, post(10), short, e.page.ID, post(11), e.page.Token)
	status, m := e.do(t, "POST", "/v1/replies", testToken, batch)
	res, _ := m["results"].([]any)
	if status != 207 || len(res) != 2 {
		t.Fatalf("batch: %d %v", status, m)
	}
	first, _ := res[0].(map[string]any)
	second, _ := res[1].(map[string]any)
	if first["status"] != float64(202) || second["status"] != float64(400) || errField(second) != "replies[1].text" {
		t.Errorf("batch results %v; want 202 for the ordinary text, 400 naming replies[1].text for the token", res)
	}
	if strings.Contains(e.logs.String(), e.page.Token) || strings.Contains(e.logs.String(), appSecret) {
		t.Error("a secret reached the API's log")
	}
}
