package graph_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/pagereply/pagereply/graph"
)

// TestAppNotLiveRefusesOnePerson_audit16: an app with Standard Access (in
// development mode, not through App Review) may message only the people
// with a role on it; a send to anyone else is refused with "Cannot message
// users who are not admins, developers or testers of the app until
// pages_messaging permission is reviewed and the app is live" (code 10 or
// 200, subcode 2018028, or no subcode), while sends to the app's testers
// go through (davidchua/pymessenger#81: "Send message with testers of app
// is ok, but to customer with this error", replying to a Page's post
// comments; microsoft/botframework-sdk#2510, code 10). It is about that
// person, not the Page: classed page broken, one such commenter paused the
// Page again every time its kept reply ran, holding back the replies to the
// people the app may message, for the reply's 7 days. It fails that reply
// only (permanent), as the other refusals about one person do.
func TestAppNotLiveRefusesOnePerson_audit16(t *testing.T) {
	const msg = `Cannot message users who are not admins, developers or testers of the app until pages_messaging permission is reviewed and the app is live.`
	for _, tc := range []struct {
		name string
		body string
	}{
		{name: "10/2018028", body: `{"error":{"message":"(#10) ` + msg + `","type":"OAuthException","code":10,"error_subcode":2018028,"fbtrace_id":"AbC"}}`},
		{name: "200/2018028", body: `{"error":{"message":"(#200) ` + msg + `","type":"OAuthException","code":200,"error_subcode":2018028,"fbtrace_id":"AbC"}}`},
		{name: "10 without subcode", body: `{"error":{"message":"(#10) ` + msg + `","type":"OAuthException","code":10,"fbtrace_id":"AbC"}}`},
		{name: "subcode without the message", body: `{"error":{"message":"(#200) Permissions error","type":"OAuthException","code":200,"error_subcode":2018028,"fbtrace_id":"AbC"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := sendRefused(t, http.StatusForbidden, tc.body)
			if got := graph.ClassOf(err); got != graph.ClassPermanent {
				t.Errorf("class %s, want permanent: one person the app may not message yet, not the Page (%v)", got, err)
			}
			if !errors.Is(err, graph.ErrPermanent) || graph.PolicyBlocked(err) {
				t.Errorf("errors.Is(ErrPermanent) = %v, PolicyBlocked = %v", errors.Is(err, graph.ErrPermanent), graph.PolicyBlocked(err))
			}
			// The ledger keeps the error's text as the failed reason, which
			// a run again reads back (AppNotLiveReason): the client's own
			// wording of the answer must be told apart, not only the
			// literal reasons of TestAppNotLiveReason_audit16.
			if !graph.AppNotLiveReason("reply comment:7_11: " + err.Error()) {
				t.Errorf("AppNotLiveReason does not know the client's error %q", err)
			}
		})
	}
	// Another refusal about one person, as the client words it, is not it.
	err := sendRefused(t, http.StatusBadRequest, `{"error":{"message":"(#200) Permissions error","type":"OAuthException","code":200,"error_subcode":1545041,"fbtrace_id":"AbC"}}`)
	if graph.AppNotLiveReason(err.Error()) {
		t.Errorf("AppNotLiveReason takes %q for the app-not-live refusal", err)
	}
}

// TestAppNotLiveReason_audit16: the reason a reply failed with, as the
// ledger keeps it, is told to be the app-not-live refusal (which the app
// going live lifts) from its subcode or its message, and no other refusal
// about one person is.
func TestAppNotLiveReason_audit16(t *testing.T) {
	for _, tc := range []struct {
		reason string
		want   bool
	}{
		{"reply c:1: graph: messages: (#10) Cannot message users who are not admins, developers or testers of the app until ... [code 10/2018028, http 403, class permanent]", true},
		{"graph: messages: (#200) Permissions error [code 200/2018028, http 403, class permanent]", true},
		{"graph: messages: (#10) Cannot message users who are not admins, developers or testers of the app [code 10, http 403, class permanent]", true},
		{"graph: messages: (#200) This person isn't available right now. [code 200/1545041, http 400, class permanent]", false},
		{"graph: messages: (#10) outside of allowed window [code 10/20180280, http 400, class permanent]", false},
		{"", false},
	} {
		if got := graph.AppNotLiveReason(tc.reason); got != tc.want {
			t.Errorf("AppNotLiveReason(%q) = %v, want %v", tc.reason, got, tc.want)
		}
	}
}
