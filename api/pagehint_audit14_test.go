package api_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestGetReplyPageHintHoldingASecret_audit14: GET /v1/replies/{id}'s
// ?page_id= naming no configured Page was answered "page_id VALUE is not a
// Page of this server's configuration", the value as sent: a Page's token
// or the app secret passed as page_id came back in the answer, which POST
// /v1/replies never shows (a page_id that is not numeric is refused there
// without its value). It is a 400 naming page_id, without the value; a
// numeric one not configured is still named.
func TestGetReplyPageHintHoldingASecret_audit14(t *testing.T) {
	const appSecret = "appsecretForTheAudit14Test"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{appSecret} })
	for _, hint := range []string{e.page.Token, appSecret, testToken} {
		resp, b := e.request(t, "GET", "/v1/replies/comment:1_2?page_id="+url.QueryEscape(hint), testToken, "")
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"field":"page_id"`) {
			t.Errorf("page_id holding a secret: %d %s; want 400 naming page_id", resp.StatusCode, b)
		}
		for _, s := range []string{e.page.Token, testToken, appSecret} {
			if strings.Contains(string(b), s) {
				t.Errorf("the answer shows the secret: %s", b)
			}
		}
	}
	resp, b := e.request(t, "GET", "/v1/replies/comment:1_2?page_id=999", testToken, "")
	if resp.StatusCode != 400 || !strings.Contains(string(b), "page_id is not a Page") {
		t.Errorf("page_id 999: %d %s", resp.StatusCode, b)
	}
}
