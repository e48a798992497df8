package graph

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestEscapedTokenInDecodeErrors_audit13: a 2xx answer whose value cannot be
// decoded is quoted in the error (the time decoder's "cannot parse", the
// send answer's id "is neither a string nor an integer"), and the error goes
// to the log, the task's last_error and the monitor. The token in that value
// written with JSON escapes (\u0045AA...) was quoted raw, escapes and all,
// which the redaction (the token's own bytes) never matches: anyone reading
// the error could read the token. Decoded and long, the clip cut it first,
// leaving its head.
func TestEscapedTokenInDecodeErrors_audit13(t *testing.T) {
	esc := `\u0045` + testToken[1:]
	leaks := func(t *testing.T, what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		for _, part := range []string{testToken[1:], testToken[:8]} {
			if strings.Contains(err.Error(), part) {
				t.Errorf("%s: the error shows the token (%q): %s", what, part, err)
			}
		}
	}
	objects := map[string]string{
		"created_time an object":         `{"id":"7_11","created_time":{"v":"` + esc + `"}}`,
		"created_time an array":          `{"id":"7_11","created_time":["` + esc + `"]}`,
		"created_time long, at the clip": `{"id":"7_11","created_time":"` + strings.Repeat("x", 992) + esc + `"}`,
	}
	for name, body := range objects {
		t.Run(name, func(t *testing.T) {
			f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, []byte(body)) })
			_, err := f.client().Comment(context.Background(), testToken, "7_11")
			leaks(t, "comment read", err)
		})
	}
	t.Run("a listing's skipped item", func(t *testing.T) {
		body := `{"data":[{"id":"7_12","created_time":"2026-12-01T10:00:00+0000"},{"id":"7_11","created_time":{"v":"` + esc + `"}}]}`
		f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, []byte(body)) })
		var skippedErr error
		ctx := WithSkippedItems(context.Background(), func(_, _ string, _ []string, err error) { skippedErr = err })
		for _, err := range f.client().Comments(ctx, testToken, "7_1") {
			if err != nil {
				t.Fatal(err)
			}
		}
		leaks(t, "skipped item", skippedErr)
	})
	t.Run("send answer's recipient_id", func(t *testing.T) {
		f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, []byte(`{"recipient_id":{"v":"`+esc+`"},"message_id":"m_1"}`))
		})
		_, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "7_11"}, "Hi")
		leaks(t, "send", err)
	})
}
