package api_test

import (
	"fmt"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestReplyIDHoldingANumericSecretQueued_audit13: a secret made only of
// digits (a Redis password such as "00000000", a numeric verify token)
// cannot be told from part of a Graph id, and a real comment id holding it
// was refused (400), its comment never answered: ids are checked for the
// secrets that hold another character only, texts for all of them.
func TestReplyIDHoldingANumericSecretQueued_audit13(t *testing.T) {
	const numeric = "00000000"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{numeric} })
	id := e.page.ID + "_1000000000000123"
	body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hello"}`, e.page.ID, id)
	if resp, b := e.request(t, "POST", "/v1/replies", testToken, body); resp.StatusCode != 202 {
		t.Errorf("comment id %s (holding the numeric secret by chance): %d %s; want 202", id, resp.StatusCode, b)
	}
	if resp, b := e.request(t, "GET", "/v1/replies/comment:"+id, testToken, ""); resp.StatusCode != 200 {
		t.Errorf("GET comment:%s: %d %s; want 200", id, resp.StatusCode, b)
	}
	// The same secret in a text is still refused.
	body = fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"the password is %s"}`, e.page.ID, e.page.ID+"_77", numeric)
	if resp, b := e.request(t, "POST", "/v1/replies", testToken, body); resp.StatusCode != 400 {
		t.Errorf("a text holding the numeric secret: %d %s; want 400", resp.StatusCode, b)
	}
}
