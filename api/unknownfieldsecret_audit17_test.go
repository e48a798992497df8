package api_test

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestUnknownFieldSecretNotEchoed_audit17: POST /v1/replies quotes an
// unknown member's name in its answer, message and field, so the caller
// sees what was refused (its first 64 bytes). A name holding a secret of
// the configuration (a token pasted as a key, {"EAAG...":"..."}, or a
// numeric password) was quoted too, as a lone reply's, a batch item's and
// one next to replies. It is refused the same, naming no member; an
// ordinary unknown name is still quoted.
func TestUnknownFieldSecretNotEchoed_audit17(t *testing.T) {
	const numeric = "98765432109"
	const token = "EAAGsecretTOKENabcdefghijklmnop"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{numeric, token} })
	page, c := e.page.ID, e.sb.AllComments(e.page.ID)[0].ID
	reply := `"page_id":"` + page + `","comment_id":"` + c + `","text":"hi"`
	for _, secret := range []string{numeric, token} {
		for _, body := range []string{
			`{` + reply + `,"` + secret + `":"x"}`,
			`{` + reply + `,"x` + secret + `x":"x"}`,
			`{"replies":[{` + reply + `,"` + secret + `":"x"}]}`,
			`{"replies":[{` + reply + `}],"` + secret + `":1}`,
		} {
			resp, b := e.request(t, "POST", "/v1/replies", testToken, body)
			if resp.StatusCode/100 == 2 && resp.StatusCode != 207 || strings.Contains(string(b), secret[:8]) || !strings.Contains(string(b), "unknown field") {
				t.Errorf("%s: %d %s; want it refused as an unknown field, the name not shown", body, resp.StatusCode, b)
			}
		}
	}
	resp, b := e.request(t, "POST", "/v1/replies", testToken, `{`+reply+`,"colour":"x"}`)
	if resp.StatusCode != 400 || !strings.Contains(string(b), `unknown field \"colour\"`) {
		t.Errorf("an ordinary unknown field: %d %s; want it quoted", resp.StatusCode, b)
	}
	if logs := e.logs.String(); strings.Contains(logs, numeric) || strings.Contains(logs, token[:8]) {
		t.Errorf("a secret reached the log:\n%s", logs)
	}
}
