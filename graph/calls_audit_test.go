package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
)

// Mutation-audit tests of calls.go, conversation.go and formenc.go: the
// send's recipient, the doubt check's reading and the form body.

// TestSendRefusedBeforeAnyCall: a private reply naming a person as well as a
// comment, or a send without a Page, is refused without calling Graph.
func TestSendRefusedBeforeAnyCall(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"recipient_id":"1","message_id":"m_1"}`))
	})
	c := f.client()
	ctx := context.Background()
	for name, send := range map[string]func() (SendResult, error){
		"psid and comment": func() (SendResult, error) {
			return c.SendPrivateReply(ctx, testToken, testPage, Recipient{PSID: "7", CommentID: "1_2"}, "hi")
		},
		"psid and post": func() (SendResult, error) {
			return c.SendPrivateReply(ctx, testToken, testPage, Recipient{PSID: "7", PostID: "1_2"}, "hi")
		},
		"private reply without page": func() (SendResult, error) {
			return c.SendPrivateReply(ctx, testToken, "", Recipient{CommentID: "1_2"}, "hi")
		},
		"message without page": func() (SendResult, error) {
			return c.SendMessage(ctx, testToken, "", "7", "hi")
		},
	} {
		_, err := send()
		var ge *Error
		if !errors.As(err, &ge) || ge.Class != ClassPermanent || ge.Unknown {
			t.Errorf("%s: err %v", name, err)
		}
	}
	if reqs := f.requests(); len(reqs) != 0 {
		t.Errorf("requests %v", reqs)
	}
}

// TestObjectWithoutIDNotRead: an empty id is refused, not read as
// GET /{version}/ (which a doubt check would take for "no reply").
func TestObjectWithoutIDNotRead(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"id":"1"}`))
	})
	c := f.client()
	_, err1 := c.PrivateReplyConversation(context.Background(), testToken, "")
	_, err2 := c.Comment(context.Background(), testToken, "")
	for _, err := range []error{err1, err2} {
		if ClassOf(err) != ClassPermanent {
			t.Errorf("err %v", err)
		}
	}
	if reqs := f.requests(); len(reqs) != 0 {
		t.Errorf("requests %v", reqs)
	}
}

// TestDoubtCheckReadings: what the doubt check makes of each answer. Only an
// answer that says so reads as "no reply sent"; one it cannot read is a
// transient error, as any malformed answer: the check is made again. Never ""
// (a second reply), nor a permanent error (the reply archived, maybe never
// sent).
func TestDoubtCheckReadings(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
		wantErr          bool
	}{
		{name: "absent", body: `{"id":"1_2"}`, want: ""},
		{name: "null", body: `{"id":"1_2","private_reply_conversation":null}`, want: ""},
		{name: "object", body: `{"id":"1_2","private_reply_conversation":{"id":"t_9"}}`, want: "t_9"},
		{name: "string", body: `{"id":"1_2","private_reply_conversation":"t_9"}`, want: "t_9"},
		{name: "object without id", body: `{"id":"1_2","private_reply_conversation":{}}`, wantErr: true},
		{name: "object with empty id", body: `{"id":"1_2","private_reply_conversation":{"id":""}}`, wantErr: true},
		{name: "number", body: `{"id":"1_2","private_reply_conversation":5}`, wantErr: true},
		{name: "answer null", body: `null`, wantErr: true},
		{name: "answer string", body: `"t_9"`, wantErr: true},
		{name: "answer array", body: `[]`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, []byte(tc.body))
			})
			got, err := f.client().PrivateReplyConversation(context.Background(), testToken, "1_2")
			if tc.wantErr {
				var ge *Error
				if !errors.As(err, &ge) || ge.Class != ClassTransient || ge.HTTPStatus != 200 || ge.Endpoint != EndpointObject || got != "" {
					t.Errorf("= %q, %v; want a transient error", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestConversationRead: Conversation reads GET /{version}/{conversation-id}
// with the fields of the conversations listing.
func TestConversationRead(t *testing.T) {
	f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v25.0/t_998877" || r.URL.Query().Get("fields") != "id,updated_time,participants,messages{message,from,created_time}" {
			t.Errorf("request %s", r.URL)
		}
		writeJSON(w, 200, []byte(`{"id":"t_998877","updated_time":"2025-11-24T09:30:00+0000",`+
			`"participants":{"data":[{"name":"Ana","id":"7001"},{"name":"Page","id":"`+testPage+`"}]},`+
			`"messages":{"data":[{"message":"hello","from":{"name":"Ana","id":"7001"},"created_time":"2025-11-24T09:30:00+0000","id":"m_1"}]}}`))
	})
	conv, err := f.client().Conversation(WithPageID(context.Background(), testPage), testToken, "t_998877")
	if err != nil {
		t.Fatal(err)
	}
	if conv.ID != "t_998877" || conv.UpdatedTime.IsZero() || len(conv.Participants) != 2 || conv.Participants[0].ID != "7001" ||
		len(conv.Messages) != 1 || conv.Messages[0].Message != "hello" {
		t.Errorf("conversation %+v", conv)
	}
	if calls := f.callInfos(); len(calls) != 1 || calls[0].PageID != testPage || calls[0].Endpoint != EndpointObject {
		t.Errorf("call infos %+v", calls)
	}
}

// TestSendBodyBytes: a send's body, byte for byte.
func TestSendBodyBytes(t *testing.T) {
	got := string(sendBody(recipientID, "7001", "RESPONSE", "Hi & bye"))
	want := "recipient=%7B%22id%22%3A%227001%22%7D&message=%7B%22text%22%3A%22Hi+%5Cu0026+bye%22%7D&messaging_type=RESPONSE"
	if got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}
}

// TestSendResultNotASCII: the answer's fast reader reads what encoding/json
// would, for bytes beyond ASCII too (invalid UTF-8 becomes U+FFFD).
func TestSendResultNotASCII(t *testing.T) {
	for _, body := range []string{
		`{"recipient_id":"1","message_id":"m_` + "\xff" + `"}`,
		`{"recipient_id":"1","message_id":"m_é"}`,
	} {
		var want SendResult
		if err := json.Unmarshal([]byte(body), &want); err != nil {
			t.Fatal(err)
		}
		got, err := decodeSendResult([]byte(body))
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", body, got, err, want)
		}
	}
}
