package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestPageUnreachableNeeds33_audit16: only Graph's 100/33 naming the Page
// is the Page unreachable (page broken); another code 100 answer that
// happens to name the Page's id is about the call's argument: permanent.
func TestPageUnreachableNeeds33_audit16(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":{"message":"(#100) Param recipient of object with ID '` + testPage +
			`' must be a valid comment id","type":"OAuthException","code":100,"fbtrace_id":"A"}}`))
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL})
	_, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: testPage + "_42_7"}, "Hi")
	if ClassOf(err) != ClassPermanent {
		t.Fatalf("code 100 without subcode 33 naming the Page: %v, want permanent", err)
	}
}

// TestEdgeRefusalNotThrottle_audit16: a read of the ads_posts or
// video_reels edge answered with a code of the edge's refusal but classed
// throttled (its usage headers at the limit) is a throttle, which concerns
// the Page: not the one edge refused.
func TestEdgeRefusalNotThrottle_audit16(t *testing.T) {
	for _, tc := range []struct {
		endpoint string
		refused  func(error) bool
	}{{EndpointAdsPosts, AdsPermissionRefused}, {EndpointReels, ReelsRefused}} {
		e := &Error{Endpoint: tc.endpoint, Code: 100, Subcode: 33, Message: "Unsupported get request", Class: ClassPermanent}
		if !tc.refused(e) {
			t.Fatalf("%s: 100/33 not taken for the edge refused", tc.endpoint)
		}
		e.Class, e.Usage = ClassThrottled, Usage{MaxPercent: 100}
		if tc.refused(e) {
			t.Errorf("%s: a throttled answer taken for the edge refused", tc.endpoint)
		}
	}
}

// TestRegainCappedAtADay_audit16: an estimated_time_to_regain_access past a
// day (minutes) is read as a day, as a Retry-After is: a corrupt or odd
// header does not pause a Page for longer.
func TestRegainCappedAtADay_audit16(t *testing.T) {
	for _, h := range []http.Header{
		{"X-Page-Usage": {`{"call_count":10,"estimated_time_to_regain_access":2000}`}},
		{"X-Business-Use-Case-Usage": {`{"100":[{"type":"pages","call_count":10,"estimated_time_to_regain_access":1441}]}`}},
		{"X-Page-Usage": {`{"call_count":10,"estimated_time_to_regain_access":"1e6"}`}},
	} {
		if u := ParseUsage(h); u.RegainAccess != 24*time.Hour {
			t.Errorf("%v: regain %s, want 24h", h, u.RegainAccess)
		}
	}
	if u := ParseUsage(http.Header{"X-Page-Usage": {`{"estimated_time_to_regain_access":1439}`}}); u.RegainAccess != 1439*time.Minute {
		t.Errorf("1439 minutes read as %s", u.RegainAccess)
	}
}

// TestWWWAuthenticateLeavesGraphCode_audit16: Graph's WWW-Authenticate
// refusal decides only an answer without a Graph error code: with one (a
// comment that does not exist, 100/33) the code decides, and one missing
// comment does not pause the Page.
func TestWWWAuthenticateLeavesGraphCode_audit16(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `OAuth "Facebook Platform" "insufficient_scope" "(#100) missing permissions"`)
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":{"message":"Unsupported post request. Object with ID '` + testPage +
			`_42_7' does not exist, cannot be loaded due to missing permissions","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"A"}}`))
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL})
	_, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: testPage + "_42_7"}, "Hi")
	var ge *Error
	if !errors.As(err, &ge) || ge.Class != ClassPermanent {
		t.Fatalf("100/33 of the comment with a WWW-Authenticate refusal: %v, want permanent", err)
	}
}

// TestPolicyBlockSubcodeNeedsCode10_audit16: subcode 1893063 is a policy
// block under code 10 only.
func TestPolicyBlockSubcodeNeedsCode10_audit16(t *testing.T) {
	if !PolicyBlocked(&Error{Code: 10, Subcode: 1893063}) {
		t.Fatal("10/1893063 not a policy block")
	}
	if PolicyBlocked(&Error{Code: 100, Subcode: 1893063}) {
		t.Fatal("100/1893063 taken for a policy block")
	}
}
