package api_test

import (
	"fmt"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestUnknownPageIDNoOracle_audit17: the answer to an unknown page_id that
// is a secret of the configuration (a 6-digit Redis password) is the answer
// to any other unknown page_id, byte for byte: quoting the others, and not
// it, told a caller holding an API token which of its guesses was the
// password, one request per guess. No unknown page_id is quoted.
func TestUnknownPageIDNoOracle_audit17(t *testing.T) {
	const secret, other = "482913", "482914"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{secret} })
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/v1/replies", `{"page_id":"%s","comment_id":"1_2","text":"hi"}`},
		{"POST", "/v1/replies", `{"replies":[{"page_id":"%s","comment_id":"1_2","text":"hi"}]}`},
		{"GET", "/v1/replies/comment:1_2?page_id=%s", ""},
	} {
		answer := func(id string) (int, string) {
			path, body := tc.path, tc.body
			if body == "" {
				path = fmt.Sprintf(path, id)
			} else {
				body = fmt.Sprintf(body, id)
			}
			resp, b := e.request(t, tc.method, path, testToken, body)
			return resp.StatusCode, string(b)
		}
		cs, bs := answer(secret)
		co, bo := answer(other)
		if cs != co || bs != bo {
			t.Errorf("%s %s: the secret's answer %d %s differs from another page_id's %d %s", tc.method, tc.path, cs, bs, co, bo)
		}
	}
}
