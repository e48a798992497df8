package api_test

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestGetReplyIDHoldingASecret_audit13: the request log hides a path holding
// a secret, but GET /v1/replies/{id} looked the id up and, with Redis away,
// logged it in its "api: task info" line (id=comment:<the Page's token>).
// No reply has such an id (POST refuses it): it is answered 400 naming the
// field, without the value, before any lookup.
func TestGetReplyIDHoldingASecret_audit13(t *testing.T) {
	const appSecret = "appsecretForTheAudit13GetTest"
	e := newEnv(t, func(p *api.Params) {
		insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: "127.0.0.1:1"})
		t.Cleanup(func() { _ = insp.Close() })
		p.Inspector = insp
		p.Ledger = tasks.NewLedger(redistest.Refused(t), tasks.LedgerOptions{})
		p.Secrets = []string{appSecret}
	})
	for _, id := range []string{"comment:" + e.page.Token, "post:1_" + appSecret, "message:m_" + testToken} {
		resp, b := e.request(t, "GET", "/v1/replies/"+id, testToken, "")
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"field":"id"`) {
			t.Errorf("GET %.20s...: %d %s, want 400 naming id", id, resp.StatusCode, b)
		}
		for _, s := range []string{e.page.Token, appSecret, testToken} {
			if strings.Contains(string(b), s) {
				t.Errorf("the answer shows a secret: %s", b)
			}
		}
	}
	for _, s := range []string{e.page.Token, appSecret, testToken} {
		if strings.Contains(e.logs.String(), s) {
			t.Errorf("the log holds a secret (%.8s...):\n%s", s, e.logs.String())
		}
	}
	// An ordinary id is still looked up (503 with Redis away).
	if resp, b := e.request(t, "GET", "/v1/replies/comment:"+e.page.ID+"_1", testToken, ""); resp.StatusCode != 503 {
		t.Errorf("an ordinary id with Redis away: %d %s, want 503", resp.StatusCode, b)
	}
}
