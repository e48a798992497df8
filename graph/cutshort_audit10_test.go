package graph

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
)

// TestSendFourxxCutShortIsUnknown: Graph answers some sends that went
// through with an error under a 4xx status: code 1, subcode 1357046
// ("Received invalid JSON reply": Meta's Messenger error codes say the
// messages were all sent and the endpoint returned an error), codes 1, 2
// and 1200, which the client reads as "Graph may have acted" whatever the
// status. Read whole, such an answer is of unknown outcome, and the next
// attempt checks before sending again. The same answer with its body cut
// short (the connection dropped mid-body) used to be taken as a refusal
// (known outcome) because of its 4xx status alone, and the next attempt
// sent again without checking: a second message in a conversation, where no
// 10900 stops it. A body that cannot be read says nothing either way: the
// outcome is unknown.
func TestSendFourxxCutShortIsUnknown(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{
		{400, `{"error":{"message":"Received invalid JSON reply.","type":"OAuthException","code":1,"error_subcode":1357046,"fbtrace_id":"AbC"}}`},
		{400, `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","code":2,"is_transient":true,"fbtrace_id":"AbC"}}`},
		{400, `{"error":{"message":"(#1200) Temporary send message failure. Please try again later","type":"OAuthException","code":1200,"fbtrace_id":"AbC"}}`},
		{403, `{"error":{"message":"An unknown error occurred","type":"OAuthException","code":1,"fbtrace_id":"AbC"}}`},
	} {
		// Read whole: unknown, as the client has it.
		whole := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, tc.status, []byte(tc.body))
		})
		_, err := whole.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
		var ge *Error
		if !errors.As(err, &ge) || !ge.Unknown {
			t.Fatalf("%d %s read whole: %v, want an unknown outcome", tc.status, tc.body, err)
		}
		// Cut short half-way: unknown too.
		cut := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(tc.body)))
			writeJSON(w, tc.status, []byte(tc.body[:len(tc.body)/2]))
		})
		_, err = cut.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
		ge = nil
		if !errors.As(err, &ge) || !ge.Unknown || ge.Class != ClassTransient || ge.HTTPStatus != tc.status {
			t.Errorf("%d %s cut short: %v, want a transient error of unknown outcome", tc.status, tc.body, err)
		}
	}
}
