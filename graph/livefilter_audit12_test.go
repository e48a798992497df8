package graph

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// TestCommentsAskNoLiveFilter_audit12: a live video's comments edge leaves
// out its low quality comments unless asked live_filter=no_filter (Graph's
// default is filter_low_quality; the parameter is ignored on other
// objects): every page of a comments listing asks so, the first and one
// reached by a next link of the documented shape, which carries only limit
// and the cursor.
func TestCommentsAskNoLiveFilter_audit12(t *testing.T) {
	var got []*url.URL
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL)
		if len(got) == 1 {
			writeJSON(w, 200, []byte(`{"data":[{"id":"2_1","created_time":"2026-01-02T10:00:00+0000"}],"paging":{"cursors":{"after":"QUZU"},`+
				`"next":"https://graph.facebook.com/1_2/comments?limit=25&after=QUZU"}}`))
			return
		}
		writeJSON(w, 200, []byte(`{"data":[{"id":"2_2","created_time":"2026-01-01T10:00:00+0000"}]}`))
	})
	n := 0
	for _, err := range f.client().Comments(context.Background(), testToken, "1_2") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 || len(got) != 2 {
		t.Fatalf("%d comments in %d calls, want 2 in 2", n, len(got))
	}
	for i, u := range got {
		if v := u.Query().Get("live_filter"); v != "no_filter" {
			t.Errorf("page %d asks live_filter=%q, want no_filter (%s)", i+1, v, u)
		}
	}
}
