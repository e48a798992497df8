package api_test

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestUnknownPageIDShortSecretNotEchoed_audit17: an unknown page_id that
// holds a secret of the configuration is refused without echoing it
// (847ca75), but secrets under 8 bytes are not looked for in a text (they
// turn up in ordinary words), so a page_id that was a short numeric secret
// itself (a 6-digit Redis password, a short API token) was quoted whole. A
// page_id equal to a secret, whatever its length, is not shown.
func TestUnknownPageIDShortSecretNotEchoed_audit17(t *testing.T) {
	const short = "482913"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{short} })
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/replies", `{"page_id":"` + short + `","comment_id":"1_2","text":"hi"}`},
		{"POST", "/v1/replies", `{"replies":[{"page_id":"` + short + `","comment_id":"1_2","text":"hi"}]}`},
		{"GET", "/v1/replies/comment:1_2?page_id=" + short, ""},
	} {
		resp, b := e.request(t, tc.method, tc.path, testToken, tc.body)
		if resp.StatusCode/100 == 2 && resp.StatusCode != 207 || strings.Contains(string(b), short) || !strings.Contains(string(b), "is not a Page of this server's configuration") {
			t.Errorf("%s %s: %d %s; want not a Page, the page_id not shown", tc.method, tc.path, resp.StatusCode, b)
		}
	}
	// A page_id merely holding it gets the same answer: no page_id is
	// quoted (TestUnknownPageIDNoOracle_audit17).
	if resp, b := e.request(t, "GET", "/v1/replies/comment:1_2?page_id=1"+short, testToken, ""); resp.StatusCode != 400 || strings.Contains(string(b), "1"+short) {
		t.Errorf("an unknown page_id holding a short secret: %d %s; want 400, not quoted", resp.StatusCode, b)
	}
}
