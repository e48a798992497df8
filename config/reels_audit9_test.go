package config

import "testing"

// TestReelsKey: pages[].reels is off by default, turns on with true, and is
// refused where it could do nothing (reply_to without comments: Reels are
// the Page's own, only their comments get replies) or is not a boolean.
func TestReelsKey(t *testing.T) {
	c, err := Parse([]byte(minimal), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Pages[0].Reels {
		t.Error("reels on by default")
	}
	for _, tc := range []struct {
		name, extra string
		want        bool
	}{
		{"default reply_to", "reels: true", true},
		{"comments among others", "reels: true\nreply_to: [posts, comments]", true},
		{"off without comments", "reels: false\nreply_to: [conversations]", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(withPage(tc.extra, "")), env(nil))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if c.Pages[0].Reels != tc.want {
				t.Errorf("Reels %t, want %t", c.Pages[0].Reels, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, extra, msg string }{
		{"no comments in reply_to", "reels: true\nreply_to: [posts, conversations]", "add comments to reply_to"},
		{"not a boolean", "reels: sometimes", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(withPage(tc.extra, "")), env(nil)); !hasFieldError(t, err, "pages[0].reels", tc.msg) {
				t.Errorf("no error at pages[0].reels containing %q in: %v", tc.msg, err)
			}
		})
	}
}
