package graph_test

import (
	"context"
	"iter"
	"testing"

	"github.com/pagereply/pagereply/graph"
)

// TestAdsPermissionRefusedMetaAnswers_audit13: AdsPermissionRefused tells
// each answer Graph gives an ads_posts read for a token without the ads
// permissions, the ADVERTISE task, or an app without the Marketing API's
// access: code 10, 200, 294 ("requires the extended permission
// ads_management"), 3 ("does not have the capability") and 100 subcode 33
// naming the Page ("cannot be loaded due to missing permissions"), which was
// classed permanent and failed every poll after its feed was read (code 3
// paused the Page). A throttle and a bare 190 stay the Page's, as do the
// same answers on the feed, and a 100 of another kind (a field refused).
func TestAdsPermissionRefusedMetaAnswers_audit13(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		feed    bool // asked of the feed, not ads_posts
		refused bool
	}{
		{name: "100/33 missing permissions", refused: true,
			body: `{"error":{"message":"Unsupported get request. Object with ID '100' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"AbC"}}`},
		{name: "294 ads_management", refused: true,
			body: `{"error":{"message":"(#294) Managing advertisements requires the extended permission ads_management and an application that is in our allow list to access the Marketing API","type":"OAuthException","code":294,"fbtrace_id":"AbC"}}`},
		{name: "3 capability", refused: true,
			body: `{"error":{"message":"(#3) Application does not have the capability to make this API call.","type":"OAuthException","code":3,"fbtrace_id":"AbC"}}`},
		{name: "10 permission", refused: true,
			body: `{"error":{"message":"(#10) Requires pages_manage_ads permission to manage the object","type":"OAuthException","code":10,"fbtrace_id":"AbC"}}`},
		{name: "200 permission", refused: true,
			body: `{"error":{"message":"(#200) Requires either ads_management or pages_manage_ads permission","type":"OAuthException","code":200,"fbtrace_id":"AbC"}}`},
		{name: "100 field",
			body: `{"error":{"message":"(#100) Tried accessing nonexisting field (ads_posts) on node type (User)","type":"OAuthException","code":100,"fbtrace_id":"AbC"}}`},
		{name: "throttled",
			body: `{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32,"fbtrace_id":"AbC"}}`},
		{name: "190 token",
			body: `{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}`},
		{name: "100/33 on the feed", feed: true,
			body: `{"error":{"message":"Unsupported get request. Object with ID '100' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api","type":"GraphMethodException","code":100,"error_subcode":33,"fbtrace_id":"AbC"}}`},
		{name: "3 on the feed", feed: true,
			body: `{"error":{"message":"(#3) Application does not have the capability to make this API call.","type":"OAuthException","code":3,"fbtrace_id":"AbC"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := listingRefusal(t, tc.body, func(c *graph.Client) func(context.Context, string, string) iter.Seq2[graph.Post, error] {
				if tc.feed {
					return c.Feed
				}
				return c.AdsPosts
			})
			if got := graph.AdsPermissionRefused(err); got != tc.refused {
				t.Errorf("AdsPermissionRefused = %v, want %v (%v)", got, tc.refused, err)
			}
		})
	}
}
