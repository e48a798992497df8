package api_test

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestUnknownPageIDSecretNotEchoed_audit16: a page_id that names no Page
// of the configuration is answered 400 with the page_id quoted, so the
// caller sees what was refused. One made only of digits that holds a
// secret of the configuration (a numeric API token, Redis password or
// verify token passed in its place) was quoted too, in POST /v1/replies'
// answer and in GET /v1/replies/{id}?page_id='s, where the monitor's "no
// such queue" and the API's other answers never echo a secret. It is
// refused the same, without the value; an ordinary unknown page_id is still
// quoted.
func TestUnknownPageIDSecretNotEchoed_audit16(t *testing.T) {
	const numeric = "98765432109"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{numeric} })
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/replies", `{"page_id":"` + numeric + `","comment_id":"1_2","text":"hi"}`},
		{"POST", "/v1/replies", `{"page_id":"1` + numeric + `","comment_id":"1_2","text":"hi"}`},
		{"GET", "/v1/replies/comment:1_2?page_id=" + numeric, ""},
	} {
		resp, b := e.request(t, tc.method, tc.path, testToken, tc.body)
		if resp.StatusCode != 400 || strings.Contains(string(b), numeric) || !strings.Contains(string(b), "is not a Page of this server's configuration") {
			t.Errorf("%s %s: %d %s; want 400 not a Page, the page_id not shown", tc.method, tc.path, resp.StatusCode, b)
		}
	}
	if resp, b := e.request(t, "GET", "/v1/replies/comment:1_2?page_id=4242", testToken, ""); resp.StatusCode != 400 || !strings.Contains(string(b), "page_id is not a Page") {
		t.Errorf("an ordinary unknown page_id: %d %s; want 400 not a Page", resp.StatusCode, b)
	}
	if strings.Contains(e.logs.String(), numeric) {
		t.Errorf("the secret reached the log:\n%s", e.logs.String())
	}
}
