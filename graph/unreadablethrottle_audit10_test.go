package graph

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestUnreadableAnswerWithThrottleHeaders: an answer whose body cannot be
// read (cut short) or decoded, but whose usage headers say the Page is
// blocked, is a throttle (SPEC.md: throttled by the usage headers whatever
// the answer, stop calling until access is regained, no retry used up), as a
// readable error answer with those headers is: it used to stay transient,
// and the reply used up a retry and came back on its backoff. A send's
// outcome stays unknown.
func TestUnreadableAnswerWithThrottleHeaders(t *testing.T) {
	const buc = `{"` + testPage + `":[{"type":"pages","call_count":100,"total_cputime":12,"total_time":30,"estimated_time_to_regain_access":10}]}`
	for _, tc := range []struct {
		name   string
		status int
		body   string
		cut    bool
	}{
		{"5xx cut short", 500, `{"error":{"message":"An unknown error occurred","code":1}}`, true},
		{"2xx cut short", 200, `{"recipient_id":"1","message_id":"m_1"}`, true},
		{"2xx not Graph's", 200, `<html>ok</html>`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Business-Use-Case-Usage", buc)
				body := tc.body
				if tc.cut {
					w.Header().Set("Content-Length", "500")
					body = body[:len(body)/2]
				}
				writeJSON(w, tc.status, []byte(body))
			})
			_, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
			var ge *Error
			if !errors.As(err, &ge) || ge.Class != ClassThrottled || ge.RetryAfter != 10*time.Minute || !ge.Unknown {
				t.Errorf("err %v, want throttled, retry after 10m, outcome unknown", err)
			}
		})
	}
}
