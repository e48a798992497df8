package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestPageIDTooLong_audit16: a page_id of more digits than any Page id
// (over 32) is refused as not a Page id, and not echoed: a long digit-only
// value is more likely a secret passed in its place than an id.
func TestPageIDTooLong_audit16(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	long := strings.Repeat("7", 33)
	code, m := e.do(t, "POST", "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, long, c))
	if code != 400 || errField(m) != "page_id" || !strings.Contains(errMessage(m), "numeric Page id") || strings.Contains(errMessage(m), long) {
		t.Errorf("POST page_id of 33 digits: %d %v; want 400 naming page_id, not a Page id, not echoed", code, m)
	}
	code, m = e.do(t, "GET", "/v1/replies/comment:"+c+"?page_id="+long, testToken, "")
	if code != 400 || errField(m) != "page_id" || strings.Contains(errMessage(m), long) {
		t.Errorf("GET ?page_id= of 33 digits: %d %v; want 400 naming page_id, not echoed", code, m)
	}
}
