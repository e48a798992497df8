package graph

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRedactAnswerLongEscapedText_audit13: a listing's long non-ASCII text
// (Graph writes each such character as a \u escape), with escaped quotes in
// it, beside a next link's token and a token escaped in a later string: the
// strings are read in one pass over their escapes (each escape searched the
// rest of the string for its quote again, n² byte reads for n escapes:
// 14 ms for one 16,000-character comment), and the answer is redacted and
// kept alike.
func TestRedactAnswerLongEscapedText_audit13(t *testing.T) {
	const token = "EAABtokentoken"
	text := strings.Repeat(`\u00e9\"`, 20000)
	body := []byte(`{"data":[{"message":"` + text + `","from":{"name":"\u0045AABtokentoken x"}}],` +
		`"paging":{"next":"https://graph.facebook.com/v1/x?access_token=` + token + `&after=1"}}`)
	out := redactAnswer(body, []string{token})
	if strings.Contains(string(out), token) {
		t.Fatalf("the token is left raw")
	}
	var v struct {
		Data []struct {
			Message string `json:"message"`
			From    struct {
				Name string `json:"name"`
			} `json:"from"`
		} `json:"data"`
		Paging struct {
			Next string `json:"next"`
		} `json:"paging"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Data) != 1 || v.Data[0].Message != strings.Repeat(`é"`, 20000) {
		t.Errorf("the message changed")
	}
	if v.Data[0].From.Name != "[redacted] x" || !strings.Contains(v.Paging.Next, "access_token=[redacted]&") {
		t.Errorf("name %q, next %q: want the token redacted in both", v.Data[0].From.Name, v.Paging.Next)
	}
	if !strings.Contains(string(out), text) {
		t.Errorf("the message's string was rewritten, want it as Graph wrote it")
	}
}
