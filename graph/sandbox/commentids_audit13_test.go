package sandbox

import (
	"net/http"
	"testing"
	"time"
)

// TestWithheldCommentIDs_audit13: for a Page whose token cannot moderate it
// (WithholdCommentIDs), a post's comments are listed as Meta's comments
// reference says: without their id, every other field as before, the
// listing's paging unchanged; a comment read by its id still names it, and
// a private reply to it works. False lists the ids again.
func TestWithheldCommentIDs_audit13(t *testing.T) {
	e := newEnv(t, Options{Pages: 1, Seed: 1301})
	p := e.page(0)
	now := e.clk.Now()
	post := e.sb.AddPost(p.ID, User{ID: p.ID}, "A post", now.Add(-time.Hour))
	var want []string
	for i, who := range []string{"7713001", "7713002", "7713003"} {
		want = append(want, e.sb.AddComment(post, User{ID: who, Name: "Ada Visitor"}, "hello", now.Add(-time.Duration(10-i)*time.Minute)))
	}
	e.sb.WithholdCommentIDs(p.ID, true)
	list := e.walk("/v25.0/"+post+"/comments?filter=stream&order=reverse_chronological&fields=id,created_time,from,message,can_reply_privately&limit=2", p.Token)
	if len(list) != len(want) {
		t.Fatalf("listed %d comments, want %d", len(list), len(want))
	}
	for _, c := range list {
		if _, ok := c["id"]; ok {
			t.Errorf("comment listed with its id: %v", c)
		}
		if c["created_time"] == nil || c["from"] == nil || c["message"] != "hello" || c["can_reply_privately"] != true {
			t.Errorf("comment listed without its other fields: %v", c)
		}
	}
	a := e.get("/v25.0/"+want[0]+"?fields=id,created_time,from,message,can_reply_privately", p.Token)
	if a.status != http.StatusOK || a.body["id"] != want[0] {
		t.Errorf("comment read by id: %d %v, want it named", a.status, a.body)
	}
	if s := e.send(p, map[string]string{"comment_id": want[0]}, "Thanks!"); s.status != http.StatusOK {
		t.Errorf("private reply: %d %v", s.status, s.body)
	}
	e.sb.WithholdCommentIDs(p.ID, false)
	list = e.walk("/v25.0/"+post+"/comments?filter=stream&fields=id,created_time&limit=2", p.Token)
	if got := ids(list); len(got) != len(want) || got[0] == "" {
		t.Errorf("ids listed again: %v", got)
	}
}
