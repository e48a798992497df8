package sandbox

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestDeleteComment: a deleted comment, and its replies, leave their post's
// listing; its id is unknown (100/33) to a read, its replies edge and a
// private reply; a cursor that named it is refused.
func TestDeleteComment(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Seed: 62})
	p := e.page(0)
	post := e.sb.Posts(p.ID)[0]
	at := e.clk.Now().Add(-time.Hour)
	var cs []string
	for i := range 4 {
		cs = append(cs, e.sb.AddComment(post.ID, User{ID: "5001", Name: "Ann Bee"}, "hi", at.Add(time.Duration(i)*time.Minute)))
	}
	reply := e.sb.AddReply(cs[1], User{ID: "5002", Name: "Cy Dee"}, "re", at.Add(10*time.Minute))
	first := e.get("/v25.0/"+post.ID+"/comments?filter=stream&limit=2", p.Token)
	after := first.body["paging"].(map[string]any)["cursors"].(map[string]any)["after"].(string)
	if got := ids(first.data()); !slices.Equal(got, cs[:2]) {
		t.Fatalf("first page %v, want %v", got, cs[:2])
	}
	if !e.sb.DeleteComment(cs[1]) {
		t.Fatal("DeleteComment: false")
	}
	if got, want := ids(e.walk("/v25.0/"+post.ID+"/comments?filter=stream", p.Token)), []string{cs[0], cs[2], cs[3]}; !slices.Equal(got, want) {
		t.Fatalf("after delete: %v, want %v", got, want)
	}
	for _, path := range []string{
		"/v25.0/" + cs[1] + "?fields=id,private_reply_conversation",
		"/v25.0/" + reply + "?fields=id",
		"/v25.0/" + cs[1] + "/comments",
		"/v25.0/" + post.ID + "/comments?filter=stream&limit=2&after=" + after,
	} {
		a := e.get(path, p.Token)
		if code, _ := a.code(); code != CodeInvalidParam || a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", path, a.status, a.raw)
		}
	}
	for _, id := range []string{cs[1], reply} {
		a := e.send(p, map[string]string{"comment_id": id}, "hello")
		if code, sub := a.code(); code != CodeInvalidParam || sub != SubcodeNoObject {
			t.Errorf("send to deleted %s: %d %s", id, a.status, a.raw)
		}
	}
	if n := len(e.sb.Sends()); n != 0 {
		t.Fatalf("%d sends recorded", n)
	}
}

// TestDeletePost: a deleted post leaves the feed, and it and its comments
// are unknown ids; a feed cursor that named it is refused.
func TestDeletePost(t *testing.T) {
	e := newEnv(t, Options{Posts: 4, Comments: 2, Seed: 63})
	p := e.page(0)
	first := e.get("/v25.0/"+p.ID+"/feed?limit=2", p.Token)
	after := first.body["paging"].(map[string]any)["cursors"].(map[string]any)["after"].(string)
	gone := ids(first.data())[1]
	cm := e.sb.Comments(gone)[0].ID
	if !e.sb.DeletePost(gone) {
		t.Fatal("DeletePost: false")
	}
	if got := ids(e.walk("/v25.0/"+p.ID+"/feed", p.Token)); len(got) != 3 || slices.Contains(got, gone) {
		t.Fatalf("feed after delete: %v", got)
	}
	for _, path := range []string{
		"/v25.0/" + gone + "?fields=id",
		"/v25.0/" + gone + "/comments",
		"/v25.0/" + cm + "?fields=id",
		"/v25.0/" + p.ID + "/feed?limit=2&after=" + after,
	} {
		a := e.get(path, p.Token)
		if code, _ := a.code(); code != CodeInvalidParam || a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", path, a.status, a.raw)
		}
	}
}
