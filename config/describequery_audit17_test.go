package config

import (
	"strings"
	"testing"
)

// TestDescribeAtInQuery_audit17: Describe showed what follows a URL's last
// @ when that @ was in its query, so a password given as a query parameter
// (redis://h:6379/0?password=p@SECRET, as redis-py takes one; pagereply
// refuses the parameter, but bench, demo and enqueue describe the URL in
// their errors) had its tail shown as the host: "redis://***@SECRET". An @
// after a ? may be the query's or the password's: nothing but the scheme is
// shown.
func TestDescribeAtInQuery_audit17(t *testing.T) {
	const secret = "hunter2hunter2"
	for _, tc := range []struct{ url, want string }{
		{"redis://h:6379/0?password=p@" + secret, "redis://***"},
		{"rediss://h:6379/0?password=" + secret + "@" + secret, "rediss://***"},
		{"redis://h:6379/0?a=1&password=x@y@" + secret, "redis://***"},
		{"redis://h:6379?" + "p@" + secret, "redis://***"},
		{"redis://h:6379/0?client_name=me@" + secret, "redis://***"},
		// A password with a ? before its @ may be the query's too.
		{"redis://:1234?" + secret + "@host:6379/0", "redis://***"},
		// No @ in the query: the query alone is left out.
		{"redis://h:6379/0?password=" + secret, "redis://h:6379/0"},
		{"redis://:" + secret + "@h:6379/0?password=" + secret, "redis://h:6379/0"},
		// An @ after a / but before any ?: only what follows it is shown.
		{"redis://:1234/" + secret + "@host:6379/0", "redis://***@host:6379/0"},
	} {
		r := Redis{URL: tc.url}
		if got := r.Describe(); got != tc.want || strings.Contains(got, secret) || strings.Contains(r.UpHint(), secret) {
			t.Errorf("Describe(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}
