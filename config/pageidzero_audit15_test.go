package config

import (
	"strings"
	"testing"
)

// TestPageIDLeadingZeroRefused_audit15: Graph writes a Page's id without
// leading zeros, in the ids of its posts and comments ("PAGE_POST") and in
// the webhook's entries, and the API and the webhook find a Page by its id
// as written. A config id such as "0123" loaded: its webhook deliveries and
// API requests (as "123") found no Page, its items' ids did not start with
// it, and listed beside "123" the same Page had two ledgers and two rates.
// An id that starts with 0 ("0" and "00" too) is refused, naming the key,
// and never echoed (a digit-only secret pasted there would be).
func TestPageIDLeadingZeroRefused_audit15(t *testing.T) {
	page := func(id string) string {
		return "  - id: \"" + id + "\"\n    access_token: t\n    default_text: hi\n"
	}
	for _, tc := range []struct {
		pages, path string // path "": loads
	}{
		{page("123"), ""},
		{page("104251658000000"), ""},
		{page("0123"), "pages[0].id"},
		{page("0"), "pages[0].id"},
		{page("00"), "pages[0].id"},
		{page("123") + page("0123"), "pages[1].id"},
		{"  - id: 0123\n    access_token: t\n    default_text: hi\n", "pages[0].id"},
	} {
		_, err := Parse([]byte("pages:\n"+tc.pages), nil)
		switch {
		case tc.path == "" && err != nil:
			t.Errorf("%q: %v, want it loaded", tc.pages, err)
		case tc.path != "" && (err == nil || !strings.Contains(err.Error(), tc.path+": ") || !strings.Contains(err.Error(), "leading zero")):
			t.Errorf("%q: %v, want %s: ... leading zero", tc.pages, err, tc.path)
		case tc.path != "" && strings.Contains(err.Error(), "0123"):
			t.Errorf("%q: %v: the id is echoed", tc.pages, err)
		}
	}
}
