package graph

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// TestAdsPostsAskInlineCreate_audit12: GET /{page-id}/ads_posts leaves out,
// by Graph's default, the posts made inline with an ad's new creative in Ads
// Manager (include_inline_create, false unless asked): every page of the
// listing asks for them, the first and one reached by a next link of the
// documented shape, which carries only limit and the cursor.
func TestAdsPostsAskInlineCreate_audit12(t *testing.T) {
	var got []*url.URL
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL)
		if len(got) == 1 {
			writeJSON(w, 200, []byte(`{"data":[{"id":"1_1"}],"paging":{"cursors":{"after":"QUZU"},`+
				`"next":"https://graph.facebook.com/`+testPage+`/ads_posts?limit=25&after=QUZU"}}`))
			return
		}
		writeJSON(w, 200, []byte(`{"data":[{"id":"1_2"}]}`))
	})
	c := f.client()
	n := 0
	for _, err := range c.AdsPosts(context.Background(), testToken, testPage) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 || len(got) != 2 {
		t.Fatalf("%d posts in %d calls, want 2 in 2", n, len(got))
	}
	for i, u := range got {
		if v := u.Query().Get("include_inline_create"); v != "true" {
			t.Errorf("page %d asks include_inline_create=%q, want true (%s)", i+1, v, u)
		}
	}
}
