package api_test

import (
	"strings"
	"testing"
)

// TestUnknownFieldAlias_audit22: an unknown member of a reply object that is
// a likely guess (Meta's Send API's "message" for the text, a target without
// its _id) is answered with the field meant, in any case, in a lone reply
// and in a batch item; a name longer than echoMax is still not repeated, and
// any other unknown member gets no hint.
func TestUnknownFieldAlias_audit22(t *testing.T) {
	e := newEnv(t, nil)
	page, c := e.page.ID, e.sb.AllComments(e.page.ID)[0].ID
	const fields = "(fields: page_id, comment_id, post_id, conversation_id, text)"
	for _, tc := range []struct{ body, field, msg string }{
		{`{"page_id":"` + page + `","comment_id":"` + c + `","message":"hi"}`, "message",
			`unknown field "message" ` + fields + "; did you mean text?"},
		{`{"page_id":"` + page + `","Comment":"` + c + `","text":"hi"}`, "Comment",
			`unknown field "Comment" ` + fields + "; did you mean comment_id?"},
		{`{"page_id":"` + page + `","post":"1_2","text":"hi"}`, "post",
			`unknown field "post" ` + fields + "; did you mean post_id?"},
		{`{"page":"` + page + `","comment_id":"` + c + `","text":"hi"}`, "page",
			`unknown field "page" ` + fields + "; did you mean page_id?"},
		{`{"page_id":"` + page + `","conversation":"t_1","text":"hi"}`, "",
			"unknown field " + fields + "; its name, longer than 7 bytes, is not repeated; did you mean conversation_id?"},
		{`{"page_id":"` + page + `","comment_id":"` + c + `","text":"hi","colour":1}`, "colour",
			`unknown field "colour" ` + fields},
	} {
		status, m := e.do(t, "POST", "/v1/replies", testToken, tc.body)
		if status != 400 || errField(m) != tc.field || errMessage(m) != tc.msg {
			t.Errorf("%s: %d field %q message %q; want 400, field %q, message %q", tc.body, status, errField(m), errMessage(m), tc.field, tc.msg)
		}
	}
	// A batch item: the hint is the item's.
	body := `{"replies":[{"page_id":"` + page + `","comment_id":"` + c + `","text":"a"},{"page_id":"` + page + `","comment_id":"` + c + `","MESSAGE":"b"}]}`
	status, m := e.do(t, "POST", "/v1/replies", testToken, body)
	res, _ := m["results"].([]any)
	if status != 207 || len(res) != 2 {
		t.Fatalf("batch: %d %v", status, m)
	}
	item, _ := res[1].(map[string]any)
	if errField(item) != "replies[1].MESSAGE" || !strings.HasSuffix(errMessage(item), "; did you mean text?") {
		t.Errorf("batch item: %v; want field replies[1].MESSAGE and the hint text", item)
	}
}
