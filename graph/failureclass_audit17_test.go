package graph_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/pagereply/pagereply/graph"
)

// TestFailureClassAppNotLive_audit17: the class the ledger keeps beside a
// failed reply's reason (FailureClass) names the app-not-live refusal from
// the error's fields, in each of the client's wordings of it, wrapped as the
// worker wraps it; another refusal about one person keeps its Graph class,
// and an error that is not Graph's is "other". The class is one fixed word.
func TestFailureClassAppNotLive_audit17(t *testing.T) {
	const msg = `Cannot message users who are not admins, developers or testers of the app until pages_messaging permission is reviewed and the app is live.`
	for _, tc := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"10/2018028", `{"error":{"message":"(#10) ` + msg + `","type":"OAuthException","code":10,"error_subcode":2018028,"fbtrace_id":"AbC"}}`, http.StatusForbidden, graph.FailureAppNotLive},
		{"200/2018028 without the message", `{"error":{"message":"(#200) Permissions error","type":"OAuthException","code":200,"error_subcode":2018028,"fbtrace_id":"AbC"}}`, http.StatusForbidden, graph.FailureAppNotLive},
		{"10 without subcode", `{"error":{"message":"(#10) ` + msg + `","type":"OAuthException","code":10,"fbtrace_id":"AbC"}}`, http.StatusForbidden, graph.FailureAppNotLive},
		{"200/1545041", `{"error":{"message":"(#200) Message Not Sent: This person isn't available right now.","type":"OAuthException","code":200,"error_subcode":1545041,"fbtrace_id":"AbC"}}`, http.StatusBadRequest, "permanent"},
		{"190", `{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}`, http.StatusBadRequest, "page_broken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fmt.Errorf("reply comment:7_11: %w", sendRefused(t, tc.status, tc.body))
			if got := graph.FailureClass(err); got != tc.want {
				t.Errorf("FailureClass(%q) = %q, want %q", err, got, tc.want)
			}
			if got, want := graph.AppNotLive(err), tc.want == graph.FailureAppNotLive; got != want {
				t.Errorf("AppNotLive(%q) = %v, want %v", err, got, want)
			}
		})
	}
	if got := graph.FailureClass(errors.New("page 7 is not configured")); got != graph.FailureOther {
		t.Errorf("FailureClass of a non-Graph error = %q, want %q", got, graph.FailureOther)
	}
}

// TestAppNotLiveFailure_audit17: a failure's class, when the ledger kept
// one, decides whether it was the app-not-live refusal, whatever its
// reason's words (a wording the text match does not know, or one that
// quotes the refusal); a failure kept without a class (an entry of the
// version that kept only the reason) is read from its reason.
func TestAppNotLiveFailure_audit17(t *testing.T) {
	const known = "reply c:1: graph: messages: (#10) Cannot message users who are not admins, developers or testers of the app [code 10/2018028, http 403, class permanent]"
	const future = "reply c:1: graph: messages: (#10) This app can't message this person yet [code 10, http 403, class permanent]"
	for _, tc := range []struct {
		class, reason string
		want          bool
	}{
		{graph.FailureAppNotLive, future, true},
		{graph.FailureAppNotLive, known, true},
		{"permanent", known, false},
		{graph.FailureOther, known, false},
		{"", known, true},
		{"", future, false},
		{"", "graph: messages: (#200) This person isn't available right now. [code 200/1545041, http 400, class permanent]", false},
	} {
		if got := graph.AppNotLiveFailure(tc.class, tc.reason); got != tc.want {
			t.Errorf("AppNotLiveFailure(%q, %q) = %v, want %v", tc.class, tc.reason, got, tc.want)
		}
	}
}
