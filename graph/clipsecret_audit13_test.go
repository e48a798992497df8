package graph

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestEscapedSecretAtClip_audit13: a secret Graph's error echoes with JSON
// escapes (\u0045AA...) matches no bytes of the body, so only the decoded
// fields can be redacted; when it sits across the 1,000-byte clip of a long
// message, the clip cut it first, and its head stayed in the error (the
// redaction after decoding looked for the whole secret in the clipped text).
func TestEscapedSecretAtClip_audit13(t *testing.T) {
	escape := func(s string) string { return `\u00` + strings.ToUpper(hexByte(s[0])) + s[1:] }
	for _, tc := range []struct {
		name, secret string
		field        string
	}{
		{"token in message", testToken, "message"},
		{"app secret in message", testSecret, "message"},
		{"token in error_user_msg", testToken, "error_user_msg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The secret starts 8 bytes before the clip: its first 8 would stay.
			body := `{"error":{"message":"Invalid OAuth access token.","type":"OAuthException","code":190,` +
				`"` + tc.field + `":"` + strings.Repeat("x", 992) + escape(tc.secret) + `"}}`
			if tc.field == "message" {
				body = `{"error":{"message":"` + strings.Repeat("x", 992) + escape(tc.secret) + `","type":"OAuthException","code":190}}`
			}
			f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 400, []byte(body))
			})
			_, err := f.client().Comment(context.Background(), testToken, "7_11")
			if err == nil {
				t.Fatal("no error")
			}
			ge, _ := err.(*Error)
			texts := []string{err.Error()}
			if ge != nil {
				texts = append(texts, ge.Message, ge.UserMessage, ge.UserTitle)
			}
			head := tc.secret[:8]
			for _, s := range texts {
				if strings.Contains(s, head) {
					t.Fatalf("the error shows the secret's head %q: …%s", head, s[max(0, len(s)-40):])
				}
			}
		})
	}
}

func hexByte(b byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}
