package worker_test

import (
	"net/http"
	"testing"
)

// TestAppNotLiveKeepsPageRunning_audit16: an app with Standard Access (not
// through App Review) may message only the people with a role on it, and
// Meta refuses a send to anyone else with code 10 (or 200), subcode
// 2018028, "Cannot message users who are not admins, developers or testers
// of the app until pages_messaging permission is reviewed and the app is
// live", while the app's testers get theirs. Such a reply is archived with
// Graph's reason and the Page goes on: classed page broken, one commenter
// without a role paused the Page, and the kept reply paused it again each
// time it ran, for its 7 days, holding back the replies the app may send.
func TestAppNotLiveKeepsPageRunning_audit16(t *testing.T) {
	personRefusalKeepsPage(t, 47, http.StatusForbidden,
		`{"error":{"message":"(#10) Cannot message users who are not admins, developers or testers of the app until pages_messaging permission is reviewed and the app is live.","type":"OAuthException","code":10,"error_subcode":2018028,"fbtrace_id":"AbC"}}`, "2018028")
}
