package sandbox

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestCommentIDSpellings_audit21: as Graph, the sandbox reads a comment by
// the spellings Meta's comment reference lists besides <post>_<comment>:
// the older <page-id>_<post>_<comment> and the bare <comment>, and answers
// with the comment's own id. Another Page's id in front, another post's,
// another spelling of the numbers, or a deleted comment is no comment.
func TestCommentIDSpellings_audit21(t *testing.T) {
	e := newEnv(t, Options{Pages: 2, Seed: 2102})
	p, other := e.page(0), e.page(1)
	now := e.clk.Now()
	post := e.sb.AddPost(p.ID, User{ID: p.ID}, "A post", now.Add(-time.Hour))
	c := e.sb.AddComment(post, User{ID: "7721001", Name: "Ada Visitor"}, "hello", now.Add(-time.Minute))
	postNum, commentNum, _ := strings.Cut(c, "_")
	for _, id := range []string{c, p.ID + "_" + c, commentNum} {
		a := e.get("/v25.0/"+id+"?fields=id,from,message", p.Token)
		if a.status != http.StatusOK || a.body["id"] != c {
			t.Errorf("read of %s: %d %v, want the comment as %s", id, a.status, a.body, c)
		}
	}
	for _, id := range []string{other.ID + "_" + c, p.ID + "_1" + postNum + "_" + commentNum, "0" + commentNum, p.ID + "_" + postNum + "_0" + commentNum} {
		if a := e.get("/v25.0/"+id+"?fields=id", p.Token); a.status == http.StatusOK {
			t.Errorf("read of %s: %d %v, want no object", id, a.status, a.body)
		}
	}
	if !e.sb.DeleteComment(c) {
		t.Fatal("delete refused")
	}
	if a := e.get("/v25.0/"+commentNum+"?fields=id", p.Token); a.status == http.StatusOK {
		t.Errorf("read of the deleted comment by its bare id: %d %v", a.status, a.body)
	}
}
