package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestPageIDLeadingZero_audit15: no Page id starts with 0 (config refuses
// one), so a page_id written with a leading zero ("0" + the Page's id) is
// the Page's id in a form Graph never writes, or not an id at all (a
// digit-only secret passed in its place). POST /v1/replies and GET
// /v1/replies/{id}?page_id= refuse it with a 400 that names page_id and
// says why, without echoing it; the Page's own id is unaffected.
func TestPageIDLeadingZero_audit15(t *testing.T) {
	e := newEnv(t, nil)
	zero := "0" + e.page.ID
	c := e.sb.AllComments(e.page.ID)[0].ID
	for _, id := range []string{zero, "00000000", "0"} {
		code, m := e.do(t, "POST", "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, id, c))
		if code != 400 || errField(m) != "page_id" || !strings.Contains(errMessage(m), "leading zero") || len(id) > 1 && strings.Contains(errMessage(m), id) {
			t.Errorf("POST page_id %s: %d %v; want 400 naming page_id, saying leading zero, not echoing it", id, code, m)
		}
		code, m = e.do(t, "GET", "/v1/replies/comment:"+c+"?page_id="+id, testToken, "")
		if code != 400 || errField(m) != "page_id" || !strings.Contains(errMessage(m), "leading zero") || len(id) > 1 && strings.Contains(errMessage(m), id) {
			t.Errorf("GET ?page_id=%s: %d %v; want 400 naming page_id, saying leading zero, not echoing it", id, code, m)
		}
	}
	if code, m := e.do(t, "POST", "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)); code != 202 {
		t.Errorf("POST with the Page's id: %d %v; want 202", code, m)
	}
}
