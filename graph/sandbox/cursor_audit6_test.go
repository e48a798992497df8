package sandbox

import (
	"net/http"
	"testing"
)

// TestCursorOfAnotherListing: a cursor names an item of one listing, as
// Graph's do; handed to another listing (another post's comments, a comment's
// replies, the feed, the conversations) it is refused with code 100, not
// taken for a position in that listing.
func TestCursorOfAnotherListing(t *testing.T) {
	e := newEnv(t, Options{Posts: 3, Comments: 6, Conversations: 3, Seed: 61})
	p := e.page(0)
	posts := e.sb.Posts(p.ID)
	after := func(path string) string {
		t.Helper()
		a := e.get(path, p.Token)
		pg, ok := a.body["paging"].(map[string]any)
		if !ok {
			t.Fatalf("%s: no paging: %s", path, a.raw)
		}
		return pg["cursors"].(map[string]any)["after"].(string)
	}
	curA := after("/v25.0/" + posts[0].ID + "/comments?filter=stream&limit=2")
	// The cursor works on its own listing.
	if a := e.get("/v25.0/"+posts[0].ID+"/comments?filter=stream&limit=2&after="+curA, p.Token); a.status != http.StatusOK {
		t.Fatalf("own listing: %d %s", a.status, a.raw)
	}
	curFeed := after("/v25.0/" + p.ID + "/feed?limit=1")
	curConv := after("/v25.0/" + p.ID + "/conversations?limit=1")
	for _, path := range []string{
		"/v25.0/" + posts[1].ID + "/comments?filter=stream&limit=2&after=" + curA,
		"/v25.0/" + posts[1].ID + "/comments?filter=stream&limit=2&before=" + curA,
		"/v25.0/" + p.ID + "/feed?after=" + curA,
		"/v25.0/" + posts[0].ID + "/comments?filter=stream&after=" + curFeed,
		"/v25.0/" + p.ID + "/conversations?after=" + curFeed,
		"/v25.0/" + p.ID + "/feed?after=" + curConv,
	} {
		a := e.get(path, p.Token)
		if code, _ := a.code(); code != CodeInvalidParam || a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", path, a.status, a.raw)
		}
	}
}
