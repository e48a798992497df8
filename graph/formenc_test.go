package graph

import (
	"encoding/json"
	"net/url"
	"testing"
)

// FuzzFormEncoding holds the hand-written encoders of a send's body to the
// standard library's: appendJSONString to json.Marshal of a string, and
// appendQueryEscape to url.QueryEscape; the body they build must parse back
// to the values.
func FuzzFormEncoding(f *testing.F) {
	for _, s := range []string{"", "Thanks!", "a\"b\\c", "<b>&</b>", "line\nbreak\ttab\r\b\f\x00\x1f",
		"héllo 🙂", "\u2028\u2029", "\xff\xfeinvalid", "a+b=c&d", "~-_.*'()!", "\xe2\x80"} {
		f.Add(s, "123_456")
	}
	f.Fuzz(func(t *testing.T, text, id string) {
		want, err := json.Marshal(text)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, text); string(got) != string(want) {
			t.Fatalf("appendJSONString(%q) = %s, json.Marshal: %s", text, got, want)
		}
		if got := appendQueryEscape(nil, text); string(got) != url.QueryEscape(text) {
			t.Fatalf("appendQueryEscape(%q) = %s, url.QueryEscape: %s", text, got, url.QueryEscape(text))
		}
		body := sendBody(recipientComment, id, "", text)
		form, err := url.ParseQuery(string(body))
		if err != nil {
			t.Fatalf("body %q does not parse: %v", body, err)
		}
		var rcpt map[string]string
		if err := json.Unmarshal([]byte(form.Get("recipient")), &rcpt); err != nil {
			t.Fatalf("recipient %q: %v", form.Get("recipient"), err)
		}
		var msg struct{ Text string }
		if err := json.Unmarshal([]byte(form.Get("message")), &msg); err != nil {
			t.Fatalf("message %q: %v", form.Get("message"), err)
		}
		var wantText, wantID string
		_ = json.Unmarshal(want, &wantText)
		idJSON, _ := json.Marshal(id)
		_ = json.Unmarshal(idJSON, &wantID)
		if rcpt["comment_id"] != wantID || len(rcpt) != 1 || msg.Text != wantText || form.Has("messaging_type") {
			t.Fatalf("body %q decodes to %v, %q", body, rcpt, msg.Text)
		}
	})
}
