package graph

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

// TestPageObjectUnreachable_audit12: Graph's 100/33 "Unsupported post
// request. Object with ID '<page>' does not exist, cannot be loaded due to
// missing permissions, or does not support this operation" on a call made on
// the Page itself (a send in its name, its feed, its conversations) says the
// Page cannot be reached with its token (unpublished or restricted, a wrong
// id, a missing permission): every reply of the Page gets it alike. Classed
// permanent, each queued reply was archived for good as it came, and none
// was sent once the Page was back. It is page broken: the Page is paused, its
// replies kept. The same answer naming another object (the comment replied
// to, a post whose comments are read) stays that object's, permanent.
func TestPageObjectUnreachable_audit12(t *testing.T) {
	noObject := func(method, id string) []byte {
		return []byte(`{"error":{"message":"Unsupported ` + method + ` request. Object with ID '` + id +
			`' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"AbC"}}`)
	}
	const post = testPage + "_42"
	for _, tc := range []struct {
		name   string
		status int
		body   []byte
		call   func(c *Client) error
		want   Class
	}{
		{name: "send, the Page's id", status: 400, body: noObject("post", testPage), want: ClassPageBroken,
			call: func(c *Client) error {
				_, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: post + "_7"}, "Hi")
				return err
			}},
		{name: "conversation send, the Page's id", status: 400, body: noObject("post", testPage), want: ClassPageBroken,
			call: func(c *Client) error {
				_, err := c.SendMessage(context.Background(), testToken, testPage, "24117000000001", "Hi")
				return err
			}},
		{name: "feed, the Page's id", status: 400, body: noObject("get", testPage), want: ClassPageBroken,
			call: func(c *Client) error {
				for _, err := range c.Feed(context.Background(), testToken, testPage) {
					return err
				}
				return nil
			}},
		{name: "conversations, the Page's id", status: 400, body: noObject("get", testPage), want: ClassPageBroken,
			call: func(c *Client) error {
				for _, err := range c.Conversations(context.Background(), testToken, testPage) {
					return err
				}
				return nil
			}},
		{name: "send, the comment's id", status: 400, body: noObject("post", post+"_7"), want: ClassPermanent,
			call: func(c *Client) error {
				_, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: post + "_7"}, "Hi")
				return err
			}},
		{name: "comments, the post's id", status: 400, body: noObject("get", post), want: ClassPermanent,
			call: func(c *Client) error {
				for _, err := range c.Comments(context.Background(), testToken, post) {
					return err
				}
				return nil
			}},
		{name: "send, the Page's id, under a 500", status: 500, body: noObject("post", testPage), want: ClassTransient,
			call: func(c *Client) error {
				_, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: post + "_7"}, "Hi")
				return err
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, tc.status, tc.body)
			})
			err := tc.call(f.client())
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("err %v, want a *Error", err)
			}
			if ge.Class != tc.want {
				t.Errorf("class %s, want %s (%v)", ge.Class, tc.want, err)
			}
			if tc.status < 500 && ge.Unknown {
				t.Errorf("outcome unknown on a refusal: %v", err)
			}
		})
	}
}
