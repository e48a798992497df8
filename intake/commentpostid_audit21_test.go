package intake_test

import (
	"testing"

	"github.com/pagereply/pagereply/intake"
)

// TestCommentPostID_audit21: the post a comment id tells, for a webhook
// change without post_id: the Page's id and the first part of
// <post>_<comment>, the first two parts of Meta's older
// <page-id>_<post>_<comment> (whose first part may be another profile's),
// nothing for a bare id or an id of another shape.
func TestCommentPostID_audit21(t *testing.T) {
	for id, want := range map[string]string{
		"77_1":      "100_77",
		"100_77_1":  "100_77",
		"200_77_1":  "200_77",
		"1":         "",
		"":          "",
		"_1":        "",
		"77_":       "",
		"100__1":    "",
		"1_2_3_4":   "",
		"a:b:63_c1": "100_a:b:63",
	} {
		if got := intake.CommentPostID("100", id); got != want {
			t.Errorf("CommentPostID(100, %q) = %q, want %q", id, got, want)
		}
	}
}
