package graph

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestSecretInAnswerValues_audit13: a 2xx answer is read into values that
// leave the Client as data, not as an error: a send's message_id goes to the
// "reply sent" log line, the ledger in Redis and GET /v1/replies; an item's
// id, author and text go to task ids, payloads and logs. Only error strings
// were redacted, so a send answered with the token (or the app secret, or the
// appsecret_proof) as its message_id, raw or written with JSON escapes
// (\u0045AA...), handed it on as the message's id. Each value holding one
// now comes out with the secret as [redacted].
func TestSecretInAnswerValues_audit13(t *testing.T) {
	proof := AppSecretProof(testSecret, testToken)
	escaped := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		return b.String()
	}
	forms := map[string]string{
		"token raw":                 testToken,
		"token escaped":             `\u0045` + testToken[1:],
		"token wholly escaped":      escaped(testToken),
		"app secret escaped":        escaped(testSecret),
		"appsecret_proof escaped":   `\u0061` + proof[1:],
		"token escaped within text": `m_` + `\u0045` + testToken[1:] + `_x`,
	}
	shows := func(t *testing.T, what, v string) {
		t.Helper()
		for _, s := range []string{testToken, testSecret, proof, testToken[:10], testToken[4:]} {
			if strings.Contains(v, s) {
				t.Errorf("%s %q shows a secret (%q)", what, v, s)
			}
		}
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			t.Run("send", func(t *testing.T) {
				f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 200, []byte(`{"recipient_id":"`+form+`","message_id":"`+form+`"}`))
				})
				res, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "7_11"}, "Hi")
				if err != nil {
					shows(t, "error", err.Error())
					return
				}
				shows(t, "message_id", res.MessageID)
				shows(t, "recipient_id", res.RecipientID)
			})
			t.Run("private_reply_conversation", func(t *testing.T) {
				f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 200, []byte(`{"private_reply_conversation":{"id":"`+form+`"},"id":"7_11"}`))
				})
				id, err := f.client().PrivateReplyConversation(context.Background(), testToken, "7_11")
				if err != nil {
					shows(t, "error", err.Error())
					return
				}
				shows(t, "conversation id", id)
			})
			t.Run("comments listing", func(t *testing.T) {
				f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
					writeJSON(w, 200, []byte(`{"data":[{"id":"7_11","created_time":"2026-12-01T10:00:00+0000","message":"look `+form+`","from":{"id":"42","name":"`+form+`"}}]}`))
				})
				n := 0
				for c, err := range f.client().Comments(context.Background(), testToken, "7_1") {
					if err != nil {
						t.Fatal(err)
					}
					n++
					shows(t, "message", c.Message)
					shows(t, "from.name", c.From.Name)
				}
				if n != 1 {
					t.Fatalf("%d comments, want 1", n)
				}
			})
		})
	}
}

// TestAnswerWithoutSecretsUnchanged_audit13: the redaction of 2xx answers
// leaves an answer without a secret as it is, escapes (emoji, accents, \/)
// and all.
func TestAnswerWithoutSecretsUnchanged_audit13(t *testing.T) {
	c := New(Config{BaseURL: "http://graph.test", AppSecret: testSecret})
	secrets := c.secrets(testToken)
	for _, body := range []string{
		`{"data":[{"id":"7_11","message":"Caf\u00e9 \ud83d\ude00 \"q\" \\u0045","link":"https:\/\/x"}]}`,
		`{"recipient_id":"1","message_id":"m_1"}`,
		`{"a":"\u0045AAGother"}`,
		`{"broken":"\u00`,
		`"\\"`,
		``,
	} {
		if got := string(redactAnswer([]byte(body), secrets)); got != body {
			t.Errorf("redactAnswer(%s) = %s, want it unchanged", body, got)
		}
	}
}
