package config

import (
	"strings"
	"testing"
)

// TestDescribeUserSlotSecret_audit15: Describe (shown by check, the role
// commands' logs and the demo) keeps a Redis URL's user name, and hid it
// only when no password followed (redis://SECRET@host: a password written
// where the user name goes). A password put there with the colon after it
// (redis://SECRET:@host, an empty password) or holding an unescaped @
// (redis://us@SECRET:pw@host: Go's URL parser takes all before the last @,
// so the user "name" is part of the password) showed it. Neither is shown
// now; a user name with a password of its own still is, and check warns of
// an empty password as of a missing one.
func TestDescribeUserSlotSecret_audit15(t *testing.T) {
	const secret = "hunter2hunter2"
	for _, tc := range []struct{ url, want string }{
		{"redis://" + secret + ":@h:6379/0", "redis://***@h:6379/0"},
		{"redis://us@" + secret + ":pw@h:6379/0", "redis://***@h:6379/0"},
		{"redis://us%40" + secret + ":pw@h:6379/0", "redis://***@h:6379/0"},
		{"redis://bob:" + secret + "@h:6379/0", "redis://bob@h:6379/0"},
		{"redis://" + secret + "@h:6379/0", "redis://***@h:6379/0"},
	} {
		r := Redis{URL: tc.url}
		if got := r.Describe(); got != tc.want || strings.Contains(got, secret) || strings.Contains(r.UpHint(), secret) {
			t.Errorf("Describe(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
	if !(Redis{URL: "redis://" + secret + ":@h:6379/0"}).UserWithoutPassword() {
		t.Error("UserWithoutPassword of redis://NAME:@host (an empty password) = false, want check's warning")
	}
}
