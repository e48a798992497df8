package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestErrorBodiesNotHTMLEscaped_audit20: an error's <, > and & reach the
// client as they are ("Bearer <api token>", "comment:<id>"), not as
// json.Marshal's \u003c escapes, which read as noise in curl and logs; the
// answer stays application/json with nosniff.
func TestErrorBodiesNotHTMLEscaped_audit20(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct{ method, path, token, body, want string }{
		{http.MethodPost, "/v1/replies", "", `{}`, "Bearer <api token>"},
		{http.MethodGet, "/v1/replies/nonsense", testToken, "", "<"},
	} {
		resp, body := e.request(t, c.method, c.path, c.token, c.body)
		if resp.StatusCode < 400 || !strings.Contains(string(body), c.want) || strings.Contains(string(body), `\u003c`) {
			t.Errorf("%s %s: %d %s; want an error holding %q as is", c.method, c.path, resp.StatusCode, body, c.want)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: Content-Type %q, nosniff %q", c.method, c.path, ct, resp.Header.Get("X-Content-Type-Options"))
		}
	}
}
