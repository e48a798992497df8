package config

import "testing"

// TestSkipHiddenKey: pages[].skip_hidden is off by default, turns on with
// true, and is refused where it could do nothing (reply_to without comments:
// only comments are hidden and answered) or is not a boolean.
func TestSkipHiddenKey(t *testing.T) {
	c, err := Parse([]byte(minimal), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Pages[0].SkipHidden {
		t.Error("skip_hidden on by default")
	}
	for _, tc := range []struct {
		name, extra string
		want        bool
	}{
		{"default reply_to", "skip_hidden: true", true},
		{"comments among others", "skip_hidden: true\nreply_to: [posts, comments]", true},
		{"off without comments", "skip_hidden: false\nreply_to: [conversations]", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(withPage(tc.extra, "")), env(nil))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.Pages[0].SkipHidden != tc.want {
				t.Errorf("SkipHidden %t, want %t", c.Pages[0].SkipHidden, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, extra, msg string }{
		{"no comments in reply_to", "skip_hidden: true\nreply_to: [posts, conversations]", "add comments to reply_to"},
		{"not a boolean", "skip_hidden: sometimes", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(withPage(tc.extra, "")), env(nil)); !hasFieldError(t, err, "pages[0].skip_hidden", tc.msg) {
				t.Errorf("no error at pages[0].skip_hidden containing %q in: %v", tc.msg, err)
			}
		})
	}
}
