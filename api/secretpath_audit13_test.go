package api_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestRequestLogPathHoldingASecret_audit13: the request log names each
// request's path, and paths were taken to carry ids, never secrets: a
// GET /v1/replies/comment:<the Page's token> (a script's variables mixed
// up), or a token pasted after the host, wrote the secret into the log as
// it came (escaped in the URL too: the path is logged decoded). Such a path
// is logged without it.
func TestRequestLogPathHoldingASecret_audit13(t *testing.T) {
	const appSecret = "appsecretForTheAudit13PathTest"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{appSecret} })
	escaped := "%45" + url.PathEscape(e.page.Token[1:])
	for _, p := range []string{
		"/v1/replies/comment:" + e.page.Token,
		"/v1/replies/post:1_" + escaped,
		"/" + appSecret,
		"/monitor/api/queues/" + testToken,
	} {
		e.do(t, "GET", p, testToken, "")
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"http request"`) && !strings.Contains(logs, "http request") {
		t.Fatalf("no request was logged:\n%s", logs)
	}
	for _, s := range []string{e.page.Token, appSecret, testToken, e.page.Token[:12]} {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds a secret (%.8s...):\n%s", s, logs)
		}
	}
}
