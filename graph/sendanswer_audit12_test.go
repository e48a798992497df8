package graph

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestSendAnswerNumericIDs_audit12: a 2xx answer to a send that names the
// message is a send that went through, whatever JSON type Graph gives its
// ids in (Graph's ids are strings in its documentation, numbers in some of
// its payloads, such as the webhook's recipient_id). Read as a malformed
// answer, the reply would count as a failure, use up a retry and be checked
// again before the next attempt; a conversation reply's doubt can end with it
// archived as unsettled instead of recorded as sent with its message id.
func TestSendAnswerNumericIDs_audit12(t *testing.T) {
	for _, tc := range []struct {
		name, body  string
		rcpt, msgID string
	}{
		{name: "numeric recipient_id", body: `{"recipient_id":1254459154682919,"message_id":"m_AbC123"}`,
			rcpt: "1254459154682919", msgID: "m_AbC123"},
		{name: "numeric recipient_id, spaced", body: `{ "message_id": "m_AbC123", "recipient_id": 24117000000001 }`,
			rcpt: "24117000000001", msgID: "m_AbC123"},
		{name: "null recipient_id", body: `{"recipient_id":null,"message_id":"m_AbC123"}`,
			msgID: "m_AbC123"},
		{name: "string ids as before", body: `{"recipient_id":"24117000000001","message_id":"m_AbC123"}`,
			rcpt: "24117000000001", msgID: "m_AbC123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, []byte(tc.body))
			})
			res, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "7_11"}, "Hi")
			if err != nil {
				t.Fatalf("send: %v (class %s): a 2xx answer naming the message was taken for a failure", err, ClassOf(err))
			}
			if res.RecipientID != tc.rcpt || res.MessageID != tc.msgID {
				t.Errorf("send = %+v, want recipient %q, message %q", res, tc.rcpt, tc.msgID)
			}
		})
	}
	// Still malformed: no message named, or an id that is not one.
	for _, body := range []string{
		`{"recipient_id":1254459154682919}`,
		`{"recipient_id":true,"message_id":"m_AbC123"}`,
		`{"recipient_id":"1","message_id":{"id":"m_1"}}`,
		`{"recipient_id":1.5e3,"message_id":"m_AbC123"}`,
	} {
		f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, []byte(body))
		})
		_, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "7_11"}, "Hi")
		var ge *Error
		if !errors.As(err, &ge) || !ge.Unknown || ge.Class != ClassTransient {
			t.Errorf("%s: err %v, want a transient malformed answer with its outcome unknown", body, err)
		}
	}
}
