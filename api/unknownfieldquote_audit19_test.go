package api_test

import (
	"strings"
	"testing"
)

// TestUnknownFieldQuotedOnce_audit19: an unknown member of a reply object is
// named in the answer as the client wrote it, quoted once: a name holding a
// quote or a backslash is not escaped twice, and its length is its own, not
// its escaped form's (a 6-byte name with two quotes is still quoted).
func TestUnknownFieldQuotedOnce_audit19(t *testing.T) {
	e := newEnv(t, nil)
	page, c := e.page.ID, e.sb.AllComments(e.page.ID)[0].ID
	reply := `"page_id":"` + page + `","comment_id":"` + c + `","text":"hi"`
	for _, tc := range []struct{ key, name string }{
		{`a\"b`, `a"b`},
		{`\"x\"yz`, `"x"yz`},
		{`a\\b`, `a\b`},
		{`tëxt`, `tëxt`},
	} {
		status, m := e.do(t, "POST", "/v1/replies", testToken, `{`+reply+`,"`+tc.key+`":1}`)
		msg := errMessage(m)
		want := `unknown field "` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(tc.name) + `" `
		if status != 400 || errField(m) != tc.name || !strings.HasPrefix(msg, want) {
			t.Errorf("member %s: %d field %q message %q; want 400, field %q, message starting %q", tc.key, status, errField(m), msg, tc.name, want)
		}
	}
}
