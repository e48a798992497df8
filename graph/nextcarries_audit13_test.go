package graph

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"testing"
)

// TestNextLinkCarryingListingParams_audit13: Graph's own paging.next links
// usually carry every parameter of the request (the sandbox's do, as Meta's
// answers show), include_inline_create and live_filter among them, and the
// token: a next link that has them is followed with each once, as Graph
// wrote it, and without the token; the listing reads on.
func TestNextLinkCarryingListingParams_audit13(t *testing.T) {
	for _, tc := range []struct {
		name, param, value, edge string
		list                     func(c *Client) iter.Seq2[Post, error]
	}{
		{"ads_posts", "include_inline_create", "true", testPage + "/ads_posts", func(c *Client) iter.Seq2[Post, error] {
			return c.AdsPosts(context.Background(), testToken, testPage)
		}},
		{"comments", "live_filter", "no_filter", "1_2/comments", func(c *Client) iter.Seq2[Post, error] {
			return func(yield func(Post, error) bool) {
				for cm, err := range c.Comments(context.Background(), testToken, "1_2") {
					if !yield(Post{ID: cm.ID}, err) {
						return
					}
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []*url.URL
			f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
				got = append(got, r.URL)
				if len(got) == 1 {
					next := "https://graph.facebook.com/v25.0/" + tc.edge + "?access_token=" + testToken + "&" +
						r.URL.RawQuery + "&after=QUZU"
					writeJSON(w, 200, []byte(`{"data":[{"id":"2_1","created_time":"2026-01-02T10:00:00+0000"}],"paging":{"cursors":{"after":"QUZU"},"next":"`+next+`"}}`))
					return
				}
				writeJSON(w, 200, []byte(`{"data":[{"id":"2_2","created_time":"2026-01-01T10:00:00+0000"}]}`))
			})
			n := 0
			for _, err := range tc.list(f.client()) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 2 || len(got) != 2 {
				t.Fatalf("%d items in %d calls, want 2 in 2", n, len(got))
			}
			q := got[1].Query()
			if vs := q[tc.param]; len(vs) != 1 || vs[0] != tc.value {
				t.Errorf("the next page asks %s=%q, want it once, %s (%s)", tc.param, vs, tc.value, got[1])
			}
			if q.Get("after") != "QUZU" || q.Has("access_token") {
				t.Errorf("the next page's query %s", got[1].RawQuery)
			}
		})
	}
}
