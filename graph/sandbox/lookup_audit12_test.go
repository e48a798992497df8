package sandbox

import (
	"strings"
	"testing"
	"time"
)

// FuzzLookup_audit12 resolves arbitrary ids against a store holding a Page,
// a post, a Reel (listed by its bare video id), comments of each and a
// conversation: an id that names an object is that object's own id, written
// as Graph writes it, so no other spelling of it ("+<n>", "0<n>") reaches it,
// a Reel is reached by its bare id only and a post by "<page>_<n>" only; a
// comment by its own id and the two other spellings Graph reads, the bare
// <comment> and <page-id>_<post>_<comment> (audit21), nothing else.
func FuzzLookup_audit12(f *testing.F) {
	s := New(Options{Seed: 1})
	at := time.Unix(1_700_000_000, 0)
	p := s.AddPage("Fuzz")
	post := s.AddPost(p.ID, User{ID: "7", Name: "Ann"}, "hi", at)
	reel := s.AddReel(p.ID, "a reel", at)
	for _, id := range []string{p.ID, post, reel, s.AddComment(post, User{ID: "8"}, "c", at), s.AddComment(reel, User{ID: "9"}, "r", at),
		s.AddPageMessage(p.ID, "7", "hello", at), p.ID + "_" + reel, "t_", "_", "", "1000000000000000"} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		s.mu.RLock()
		defer s.mu.RUnlock()
		st := &s.st
		kind, i := st.lookup(id)
		var canon string
		switch kind {
		case objNone:
			return
		case objPage:
			canon = st.pages[i].id
		case objPost:
			canon = st.postID(i)
		case objComment:
			canon = st.commentID(i)
			// Graph reads a comment by two other spellings too
			// (commentAlias, audit21): the bare <comment> and
			// <page-id>_<post>_<comment>; no other.
			_, bare, _ := strings.Cut(canon, "_")
			if id == bare || id == st.pages[st.posts[st.comments[i].post].page].id+"_"+canon {
				return
			}
		case objConv:
			canon = convID(i)
		default:
			t.Fatalf("%q: kind %d", id, kind)
		}
		if canon != id {
			t.Fatalf("%q resolves to the object whose id is %q (kind %d)", id, canon, kind)
		}
	})
}
