package tasks_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/tasks"
)

// TestCheckShape_audit19: the id check of the API and pagereply enqueue
// looked at an id's characters only, so a comment or post id no Graph id
// has the shape of (an empty part between underscores, more parts than
// Meta's ids have) was queued and archived later with Graph's refusal.
// CheckShape refuses those, naming the shape Meta writes and never the
// value, and takes every shape Meta has used: a comment's
// <post-id>_<comment-id>, the older <page-id>_<post-id>_<comment-id>
// (deprecated, still named by Meta's comment reference), a bare comment id
// and the colon spellings Graph once returned; a post's
// <page-id>_<post-id> and a bare id (a Reel's video id). Conversation and
// message ids are not looked at.
func TestCheckShape_audit19(t *testing.T) {
	for _, tc := range []struct {
		kind tasks.Kind
		id   string
		ok   bool
		want string
	}{
		{tasks.KindComment, "122100000000000019_1000000000000599", true, ""},
		{tasks.KindComment, "1983306698425200_122100000000000019_1000000000000599", true, ""},
		{tasks.KindComment, "1000000000000599", true, ""},
		{tasks.KindComment, "162805193749522:196070250430270:63_2715946", true, ""},
		{tasks.KindComment, "1_2_3_4", false, "<post-id>_<comment-id>"},
		{tasks.KindComment, "_1000000000000599", false, "<post-id>_<comment-id>"},
		{tasks.KindComment, "122100000000000019_", false, "<post-id>_<comment-id>"},
		{tasks.KindComment, "122100000000000019__1000000000000599", false, "<post-id>_<comment-id>"},
		{tasks.KindPost, "1983306698425200_122100000000000019", true, ""},
		{tasks.KindPost, "122100000000000019", true, ""},
		{tasks.KindPost, "1983306698425200_122100000000000019_1000000000000599", false, "<page-id>_<post-id>"},
		{tasks.KindPost, "1983306698425200_", false, "<page-id>_<post-id>"},
		{tasks.KindPost, "_122100000000000019", false, "<page-id>_<post-id>"},
		{tasks.KindMessage, "m_abc_def_ghi_jkl", true, ""},
		{tasks.KindMessage, "mid.$cAAJsujCd2ORmA4RK5lhvVcTzD2cU", true, ""},
	} {
		err := tasks.CheckShape(tc.kind, tc.id)
		if tc.ok {
			if err != nil {
				t.Errorf("%s %q refused: %v", tc.kind, tc.id, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s %q taken; want it refused naming %s", tc.kind, tc.id, tc.want)
			continue
		}
		if !errors.Is(err, tasks.ErrBadShape) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: %v; want ErrBadShape naming %s", tc.kind, tc.id, err, tc.want)
		}
		if strings.Contains(err.Error(), tc.id) {
			t.Errorf("%s %q: the error repeats the id: %v", tc.kind, tc.id, err)
		}
	}
}
