package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestRedactBeforeClip: Graph echoes a malformed token in its message. When
// the message is long enough that the token straddles the 1,000-byte clip,
// the token was no longer whole where the redaction looked for it, and its
// head stayed in the error. Secrets now go first, then the clip.
func TestRedactBeforeClip(t *testing.T) {
	const before = len("Malformed access token ")
	// The token whole, then cut at each of its characters by the clip.
	for at := 1000 - before - len(testToken) - 1; at < 1000-before; at++ {
		var f *fakeGraph
		f = newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
			msg := strings.Repeat("x", at) + "Malformed access token " + testToken + " " + strings.Repeat("y", 50)
			writeJSON(w, 400, []byte(`{"error":{"message":"`+msg+`","type":"OAuthException","code":190,"error_user_msg":"`+msg+`","fbtrace_id":"AbC"}}`))
		})
		_, err := f.client().Comment(context.Background(), testToken, "101_5001")
		if err == nil {
			t.Fatal("no error")
		}
		got := err.Error()
		if ge := (*Error)(nil); errors.As(err, &ge) {
			got += " " + ge.UserMessage
		}
		for n := 8; n <= len(testToken); n++ {
			if strings.Contains(got, testToken[:n]) {
				t.Fatalf("token at %d: its first %d characters are in the error: %q", at, n, got[max(0, len(got)-200):])
			}
		}
	}
}
