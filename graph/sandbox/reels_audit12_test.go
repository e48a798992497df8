package sandbox

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestReelsListedByVideoID_audit12: video_reels lists a Reel as Meta's does,
// by its bare video id (a Video, not a post "<page-id>_<n>"), newest first;
// that id is the first part of its comments' ids, its comments edge and a
// private reply to one of them work by it, and "<page-id>_<video-id>" names
// no object. A Reel is a Video: its fields are a Video's (description, no
// message), and video_reels answers with Meta's guide's defaults.
func TestReelsListedByVideoID_audit12(t *testing.T) {
	e := newEnv(t, Options{Pages: 1, Seed: 1201})
	p := e.page(0)
	now := e.clk.Now()
	older := e.sb.AddReel(p.ID, "older Reel", now.Add(-2*time.Hour))
	newer := e.sb.AddReel(p.ID, "newer Reel", now.Add(-time.Hour))
	for _, id := range []string{older, newer} {
		if id == "" || strings.Contains(id, "_") {
			t.Fatalf("AddReel returned %q, want a bare video id", id)
		}
	}
	if got := e.sb.Reels(p.ID); len(got) != 2 || got[0].ID != newer || got[1].ID != older {
		t.Errorf("Reels: %+v, want %s then %s", got, newer, older)
	}
	list := e.walk("/v25.0/"+p.ID+"/video_reels?fields=id,created_time,updated_time&limit=1", p.Token)
	if got := strings.Join(ids(list), " "); got != newer+" "+older {
		t.Errorf("video_reels lists %q, want %q", got, newer+" "+older)
	}

	cid := e.sb.AddComment(newer, User{ID: "7712001", Name: "Ada Visitor"}, "hello", now.Add(-time.Minute))
	if obj, _, _ := strings.Cut(cid, "_"); obj != newer {
		t.Errorf("comment id %q, want it to begin with the Reel's video id %s", cid, newer)
	}
	a := e.get("/v25.0/"+newer+"/comments?fields=id,created_time,from,message,can_reply_privately", p.Token)
	if a.status != http.StatusOK || strings.Join(ids(a.data()), " ") != cid {
		t.Errorf("GET /%s/comments: %d %s, want the comment %s", newer, a.status, a.raw, cid)
	}
	if a := e.get("/v25.0/"+p.ID+"_"+newer+"/comments", p.Token); a.status == http.StatusOK {
		t.Errorf("GET /<page-id>_<video-id>/comments answered %s: a Reel is named by its video id", a.raw)
	}
	if a := e.send(p, map[string]string{"comment_id": cid}, "Thanks!"); a.status != http.StatusOK {
		t.Errorf("private reply to a Reel's comment: %d %s", a.status, a.raw)
	}

	a = e.get("/v25.0/"+newer+"?fields=id,description,updated_time", p.Token)
	if a.status != http.StatusOK || a.body["id"] != newer || a.body["description"] != "newer Reel" {
		t.Errorf("GET /%s as a Video: %d %s", newer, a.status, a.raw)
	}
	if a := e.get("/v25.0/"+newer+"?fields=id,message", p.Token); a.status == http.StatusOK {
		t.Errorf("GET /%s?fields=message answered %s: a Video has no message", newer, a.raw)
	}
	a = e.get("/v25.0/"+p.ID+"/video_reels", p.Token)
	if d := a.data(); a.status != http.StatusOK || len(d) != 2 || d[0]["description"] != "newer Reel" || d[0]["updated_time"] == nil {
		t.Errorf("video_reels without fields: %d %s, want id, description and updated_time", a.status, a.raw)
	}
}
