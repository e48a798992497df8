package graph_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pagereply/pagereply/graph"
)

// TestRealSendRefusalsAudit8: answers Meta's Messenger Platform Common Error
// Codes page lists (https://developers.facebook.com/docs/messenger-platform/error-codes),
// sent over HTTP to a real Client, get the class the worker needs: code 10
// with subcode 1893063 ("temporarily restricted from sending messages") is
// the Page's policy block, not one reply's failure; code 10's refusal about
// one person in Meta's current words ("They can't receive your messages
// right now"), or with a typographic apostrophe, without its subcode, fails
// that reply only instead of pausing the Page.
func TestRealSendRefusalsAudit8(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		class  graph.Class
		policy bool
	}{
		{name: "10/1893063 restricted", class: graph.ClassPageBroken, policy: true,
			body: `{"error":{"message":"(#10) Your Page is temporarily restricted from sending messages.","type":"OAuthException","code":10,"error_subcode":1893063,"fbtrace_id":"AbC"}}`},
		{name: "10 can't receive, no subcode", class: graph.ClassPermanent,
			body: `{"error":{"message":"(#10) They can't receive your messages right now.","type":"OAuthException","code":10,"fbtrace_id":"AbC"}}`},
		{name: "200 isn’t receiving, typographic apostrophe", class: graph.ClassPermanent,
			body: `{"error":{"message":"(#200) This person isn\u2019t receiving messages from you right now.","type":"OAuthException","code":200,"fbtrace_id":"AbC"}}`},
		{name: "368 still a policy block", class: graph.ClassPageBroken, policy: true,
			body: `{"error":{"message":"(#368) The action attempted has been deemed abusive or is otherwise disallowed","type":"OAuthException","code":368,"error_subcode":1390008,"fbtrace_id":"AbC"}}`},
		{name: "10 without subcode is still the Page's permission", class: graph.ClassPageBroken,
			body: `{"error":{"message":"(#10) Requires pages_messaging permission to manage the object","type":"OAuthException","code":10,"fbtrace_id":"AbC"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sendRefused(t, http.StatusBadRequest, tc.body)
			if got := graph.ClassOf(err); got != tc.class {
				t.Errorf("class %s, want %s (%v)", got, tc.class, err)
			}
			if got := graph.PolicyBlocked(err); got != tc.policy {
				t.Errorf("PolicyBlocked = %v, want %v", got, tc.policy)
			}
		})
	}
}

// sendRefused sends a private reply through the real client to a server
// answering it with status and body, and returns the send's error (failing
// t if the send succeeded).
func sendRefused(t *testing.T, status int, body string) error {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c := graph.New(graph.Config{BaseURL: srv.URL})
	_, err := c.SendPrivateReply(context.Background(), "page-token", "100", graph.Recipient{CommentID: "7_11"}, "Hi")
	if err == nil {
		t.Fatal("send succeeded")
	}
	return err
}
