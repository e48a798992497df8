package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestWWWAuthenticateInvalidTokenWithoutBody: Graph's answer to a bad token
// carries WWW-Authenticate: OAuth "Facebook Platform" "invalid_token" ...
// An answer with that header but no readable error body is still Graph
// refusing the token: page broken (pause the Page, keep its replies), with a
// definite outcome, not a transient error whose retries end archived. A 401
// with another realm (a proxy's) stays transient.
func TestWWWAuthenticateInvalidTokenWithoutBody(t *testing.T) {
	cases := []struct {
		name, header, body string
		status             int
		want               Class
		unknown            bool
	}{
		{"graph, no body", `OAuth "Facebook Platform" "invalid_token" "Error validating access token: Session has expired"`, "", 401, ClassPageBroken, false},
		{"graph, html body", `OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"`, "<html>denied</html>", 401, ClassPageBroken, false},
		{"graph, scope", `OAuth "Facebook Platform" "insufficient_scope" "(#200) Requires pages_messaging permission"`, "", 403, ClassPageBroken, false},
		{"graph, json body", `OAuth "Facebook Platform" "invalid_token" "x"`, `{"error":{"message":"Malformed access token","type":"OAuthException","code":190,"fbtrace_id":"A"}}`, 401, ClassPageBroken, false},
		{"proxy", `Basic realm="corporate proxy"`, "", 401, ClassTransient, true},
		{"no header", "", "", 401, ClassTransient, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("WWW-Authenticate", tc.header)
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c := New(Config{BaseURL: srv.URL})
			_, err := c.SendPrivateReply(context.Background(), "TOKEN-abc", "111", Recipient{CommentID: "1_2"}, "hi")
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("err %v, want a *graph.Error", err)
			}
			if ge.Class != tc.want || ge.Unknown != tc.unknown {
				t.Fatalf("class %s unknown %v (%v), want class %s unknown %v", ge.Class, ge.Unknown, err, tc.want, tc.unknown)
			}
			// A read too.
			_, err = c.PrivateReplyConversation(context.Background(), "TOKEN-abc", "1_2")
			if !errors.As(err, &ge) || ge.Class != tc.want {
				t.Fatalf("read: %v, want class %s", err, tc.want)
			}
		})
	}
}
