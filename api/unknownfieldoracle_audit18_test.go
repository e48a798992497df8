package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestUnknownFieldNoOracle_audit18: the answer to an unknown member of POST
// /v1/replies is the same, byte for byte, whether or not its name holds a
// secret of the configuration. Quoting every name but one holding a secret
// told a caller with an API token whether any of its guesses was the
// secret, and a name may be 4 MiB long: one request tried as many 8-digit
// passwords as the name holds, a few dozen requests found one. So it is for
// a lone reply, a batch item and a member next to replies.
func TestUnknownFieldNoOracle_audit18(t *testing.T) {
	const secret, other = "48291375", "48291376"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{secret} })
	page, c := e.page.ID, e.sb.AllComments(e.page.ID)[0].ID
	reply := `"page_id":"` + page + `","comment_id":"` + c + `","text":"hi"`
	for _, body := range []string{
		`{` + reply + `,"%s":"x"}`,
		`{"replies":[{` + reply + `,"%s":"x"}]}`,
		`{"replies":[{` + reply + `}],"%s":1}`,
	} {
		answer := func(guess string) (int, string) {
			resp, b := e.request(t, "POST", "/v1/replies", testToken, fmt.Sprintf(body, "guesses:"+guess+","+strings.Repeat("0", 20)))
			return resp.StatusCode, string(b)
		}
		cs, bs := answer(secret)
		co, bo := answer(other)
		if cs != co || bs != bo || !strings.Contains(bs, "unknown field") {
			t.Errorf("%s: a name holding the secret is answered %d %s, another %d %s; want the same unknown-field answer", body, cs, bs, co, bo)
		}
	}
}
