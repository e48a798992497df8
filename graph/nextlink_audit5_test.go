package graph

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

// TestNextLinkOfTheDocumentedShape: Meta's "Paginated Results" page
// (developers.facebook.com/docs/graph-api/results) shows a cursor-paged
// answer whose next link holds neither the API version nor the request's
// fields: "https://graph.facebook.com/{your-user-id}/albums?limit=25&after=...".
// Followed as it is, the next page is read under the app's default version
// and with Graph's default fields: no can_reply_privately (false) and no
// from, so every post past the first page would be skipped as not
// replyable. The client keeps the configured version and the listing's own
// parameters on every page; the link's cursor is the one it follows.
func TestNextLinkOfTheDocumentedShape(t *testing.T) {
	var got []*url.URL
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL)
		if len(got) == 1 {
			writeJSON(w, 200, []byte(`{"data":[{"id":"1_1","can_reply_privately":true}],"paging":{"cursors":{"after":"QUZU"},`+
				`"next":"https://graph.facebook.com/`+testPage+`/feed?limit=25&after=QUZU"}}`))
			return
		}
		writeJSON(w, 200, []byte(`{"data":[{"id":"1_2","can_reply_privately":true}]}`))
	})
	c := f.client(func(cfg *Config) { cfg.Version = "v24.0" })
	n := 0
	for _, err := range c.Feed(context.Background(), testToken, testPage) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 || len(got) != 2 {
		t.Fatalf("%d posts in %d calls, want 2 in 2", n, len(got))
	}
	second := got[1]
	if want := "/v24.0/" + testPage + "/feed"; second.Path != want {
		t.Errorf("second page read at %s, want %s", second.Path, want)
	}
	q := second.Query()
	if q.Get("fields") != postFields {
		t.Errorf("second page asks for fields %q, want %q", q.Get("fields"), postFields)
	}
	if q.Get("after") != "QUZU" {
		t.Errorf("second page cursor %q, want the link's", q.Get("after"))
	}
	if q.Get("limit") != "25" {
		t.Errorf("second page limit %q, want the link's 25", q.Get("limit"))
	}
}

// TestNextLinkKeepsItsOwnParameters: a next link that carries the version
// and the listing's parameters (as Graph's do) is followed as it is, its
// values over the current page's.
func TestNextLinkKeepsItsOwnParameters(t *testing.T) {
	c := New(Config{BaseURL: "http://127.0.0.1:8089", Version: "v25.0"})
	cur := "http://127.0.0.1:8089/v25.0/1/comments?fields=id&filter=stream&limit=100&order=reverse_chronological&summary=true"
	u, ok := c.nextURL("https://graph.facebook.com/v23.0/1/comments?fields=id%2Cfrom&limit=25&__after_id=x&access_token=T", cur, "")
	if !ok {
		t.Fatal("not followed")
	}
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := p.Query()
	if p.Path != "/v23.0/1/comments" || q.Get("fields") != "id,from" || q.Get("limit") != "25" || q.Get("__after_id") != "x" ||
		q.Get("filter") != "stream" || q.Get("order") != "reverse_chronological" || q.Get("summary") != "true" || q.Has("access_token") {
		t.Errorf("next URL %s", u)
	}
}
