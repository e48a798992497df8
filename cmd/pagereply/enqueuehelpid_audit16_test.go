package main

import (
	"strings"
	"testing"
)

// TestEnqueueHelpCommentIDShape_audit16: the --comment id of enqueue -h's
// example is one a user can take for a pattern: Graph names a comment
// <object>_<comment> (the post's own id, without the Page's, then the
// comment's: "122100000000000019_1000000000000599", as the feed webhook's
// comment_id and GET /{post-id}/comments give it), never
// <page>_<post>_<comment>, which the example showed.
func TestEnqueueHelpCommentIDShape_audit16(t *testing.T) {
	stdout, _, code := runInProcess(t, nil, "enqueue", "-h")
	if code != exitOK {
		t.Fatalf("enqueue -h: exit %d", code)
	}
	f := strings.Fields(stdout)
	found := false
	for i, w := range f {
		if w != "--comment" || i+1 >= len(f) || f[i+1] == "ID" || strings.HasPrefix(f[i+1], "|") {
			continue
		}
		found = true
		if id := f[i+1]; strings.Count(id, "_") != 1 {
			t.Errorf("enqueue -h's example comment id %q is not Graph's <object>_<comment>", id)
		}
	}
	if !found {
		t.Fatalf("no --comment example in enqueue -h:\n%s", stdout)
	}
}
