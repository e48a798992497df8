package config

import "testing"

// TestQuotedBool_audit22: a boolean key written quoted ("false", as YAML
// 1.2 reads a string) is the boolean it spells, not an error and never its
// opposite; YAML 1.1's yes, no, on and off are refused, not read as either.
func TestQuotedBool_audit22(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want bool
	}{{`"false"`, false}, {`'false'`, false}, {`"true"`, true}, {`'true'`, true}, {`false`, false}, {`true`, true}} {
		c, err := Parse([]byte(withPage("ads_posts: "+tc.v+"\nreels: "+tc.v+"\nskip_hidden: "+tc.v, "")), env(nil))
		if err != nil {
			t.Fatalf("%s refused: %v", tc.v, err)
		}
		if p := c.Pages[0]; p.AdsPosts != tc.want || p.Reels != tc.want || p.SkipHidden != tc.want {
			t.Errorf("%s: ads_posts %t, reels %t, skip_hidden %t; want %t", tc.v, p.AdsPosts, p.Reels, p.SkipHidden, tc.want)
		}
	}
	for _, v := range []string{"yes", "no", "on", "off", `"yes"`} {
		_, err := Parse([]byte(withPage("ads_posts: "+v, "")), env(nil))
		if !hasFieldError(t, err, "pages[0].ads_posts", "not true or false") {
			t.Errorf("%s: no \"not true or false\" error at pages[0].ads_posts in: %v", v, err)
		}
	}
}
