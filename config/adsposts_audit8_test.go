package config

import "testing"

// TestAdsPostsKey: pages[].ads_posts is off by default, turns on with true,
// and is refused where it could do nothing (reply_to without comments: ads
// posts are the Page's own, only their comments get replies) or is not a
// boolean.
func TestAdsPostsKey(t *testing.T) {
	c, err := Parse([]byte(minimal), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Pages[0].AdsPosts {
		t.Error("ads_posts on by default")
	}
	for _, tc := range []struct{ name, extra string }{
		{"default reply_to", "ads_posts: true"},
		{"comments among others", "ads_posts: true\nreply_to: [posts, comments]"},
		{"off without comments", "ads_posts: false\nreply_to: [conversations]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(withPage(tc.extra, "")), env(nil))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if want := tc.name != "off without comments"; c.Pages[0].AdsPosts != want {
				t.Errorf("AdsPosts %t, want %t", c.Pages[0].AdsPosts, want)
			}
		})
	}
	for _, tc := range []struct{ name, extra, msg string }{
		{"no comments in reply_to", "ads_posts: true\nreply_to: [posts, conversations]", "add comments to reply_to"},
		{"not a boolean", "ads_posts: sometimes", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(withPage(tc.extra, "")), env(nil)); !hasFieldError(t, err, "pages[0].ads_posts", tc.msg) {
				t.Errorf("no error at pages[0].ads_posts containing %q in: %v", tc.msg, err)
			}
		})
	}
}
