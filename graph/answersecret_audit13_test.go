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
		`"abc\`,
		`"\u0045AAG`,
		`\u"`,
		``,
	} {
		if got := string(redactAnswer([]byte(body), secrets)); got != body {
			t.Errorf("redactAnswer(%s) = %s, want it unchanged", body, got)
		}
	}
}

// TestSecretInContentType_audit13: an answer that is not Graph's names its
// media type in the error ("HTTP 503 with a non-JSON body (1 bytes,
// text/html)"), read from the answer's Content-Type, lowercased. A
// Content-Type echoing the token (a proxy's error page) put the token,
// lowercased and so past the redaction, into the error, the log and the
// task's last_error.
func TestSecretInContentType_audit13(t *testing.T) {
	proof := AppSecretProof(testSecret, testToken)
	for _, ct := range []string{testToken + "/json", "text/" + testToken, "application/x-" + strings.ToUpper(testSecret), "text/" + proof} {
		t.Run(ct, func(t *testing.T) {
			f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(503)
				w.Write([]byte("x"))
			})
			_, err := f.client().Comment(context.Background(), testToken, "7_11")
			if err == nil {
				t.Fatal("no error")
			}
			msg := strings.ToLower(err.Error())
			for _, s := range []string{testToken, testSecret, proof} {
				if strings.Contains(msg, strings.ToLower(s)) {
					t.Errorf("the error shows a secret, lowercased: %s", err)
				}
			}
		})
	}
	t.Run("a type without a secret is still named", func(t *testing.T) {
		f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(503)
		})
		_, err := f.client().Comment(context.Background(), testToken, "7_11")
		if err == nil || !strings.Contains(err.Error(), "text/html") {
			t.Errorf("error %v, want it to name text/html", err)
		}
	})
}
