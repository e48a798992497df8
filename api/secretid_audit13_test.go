package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestReplyIDHoldingASecretIsRefused_audit13: POST /v1/replies refused a
// text holding a secret of the configuration, but took any id: a script
// that passed a Page's token (or the app secret) as comment_id, post_id or
// conversation_id had it queued as the task's id, its payload's target and
// the ledger's key, shown by the monitor and GET /v1/replies, and logged
// with every line of the reply. Such an id is refused, 400 naming the field,
// never the value, alone or in a batch.
func TestReplyIDHoldingASecretIsRefused_audit13(t *testing.T) {
	const appSecret = "appsecretForTheAudit13Test"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{appSecret} })
	for i, tc := range []struct{ field, id string }{
		{"comment_id", e.page.Token},
		{"comment_id", "1_" + appSecret},
		{"post_id", e.page.ID + "_" + testToken},
		{"conversation_id", "t_" + e.page.Token},
	} {
		body := fmt.Sprintf(`{"page_id":%q,%q:%q,"text":"hello"}`, e.page.ID, tc.field, tc.id)
		resp, b := e.request(t, "POST", "/v1/replies", testToken, body)
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"field":"`+tc.field+`"`) {
			t.Errorf("%d: %s holding a secret: %d %s; want 400 naming %s", i, tc.field, resp.StatusCode, b, tc.field)
		}
		for _, s := range []string{e.page.Token, testToken, appSecret} {
			if strings.Contains(string(b), s) {
				t.Errorf("%d: the answer shows the secret: %s", i, b)
			}
		}
	}
	batch := fmt.Sprintf(`{"replies":[{"page_id":%q,"post_id":%q,"text":"ok"},{"page_id":%q,"comment_id":%q,"text":"ok"}]}`,
		e.page.ID, e.page.ID+"_12", e.page.ID, "1_"+e.page.Token)
	status, m := e.do(t, "POST", "/v1/replies", testToken, batch)
	res, _ := m["results"].([]any)
	if status != 207 || len(res) != 2 {
		t.Fatalf("batch: %d %v", status, m)
	}
	first, _ := res[0].(map[string]any)
	second, _ := res[1].(map[string]any)
	if first["status"] != float64(202) || second["status"] != float64(400) || errField(second) != "replies[1].comment_id" {
		t.Errorf("batch results %v; want 202 for the ordinary id, 400 naming replies[1].comment_id for the token", res)
	}
	for _, s := range []string{e.page.Token, testToken, appSecret} {
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("a secret reached the API's log")
		}
	}
}
