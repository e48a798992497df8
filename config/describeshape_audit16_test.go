package config

import (
	"strings"
	"testing"
)

// TestDescribeOddURLShapes_audit16: Describe (check's output, the role
// commands' logs, the demo, UpHint in every Redis error of bench, demo and
// enqueue) showed a Redis URL whole when its password held a / or ? that
// ends the URL's host (redis://user:1234/SECRET@host: Go's parser takes
// "user:1234" for the host and port, the rest for the path), part of it
// when the password also held an @ (redis://:a@b/SECRET@host), and a
// password written without the "//" (redis:SECRET) or alone. Whatever the
// shape, nothing between "://" and the last @ is shown now, nor anything of
// a URL without a host.
func TestDescribeOddURLShapes_audit16(t *testing.T) {
	const secret = "hunter2hunter2"
	for _, tc := range []struct{ url, want string }{
		{"redis://user:1234/" + secret + "@host:6379/0", "redis://***@host:6379/0"},
		{"redis://:1234/" + secret + "@host:6379/0", "redis://***@host:6379/0"},
		{"redis://:1234/" + secret + "@host:6379", "redis://***@host:6379"},
		{"rediss://:ab@cd/" + secret + "@host:6379/0", "rediss://***@host:6379/0"},
		{"redis://:1234?" + secret + "@host:6379/0", "redis://***"},         // an @ after a ?: audit17
		{"redis://:" + secret + "/@host:6379/0?x=1", "redis (invalid url)"}, // does not parse
		{"redis://:1234/0?x=" + secret + "@host", "redis://***"},
		{"redis:" + secret, "redis (invalid url)"},
		{"redis:" + secret + "@host:6379/0", "redis (invalid url)"},
		{secret, "redis (invalid url)"},
		// The shapes that parse as written keep their descriptions.
		{"redis://:" + secret + "@h:6379/0", "redis://h:6379/0"},
		{"redis://bob:" + secret + "@h:6379/0", "redis://bob@h:6379/0"},
		{"redis://:" + secret + "%2F1@h:6379/0", "redis://h:6379/0"},
		{"redis://h:6379/0", "redis://h:6379/0"},
	} {
		r := Redis{URL: tc.url}
		if got := r.Describe(); got != tc.want || strings.Contains(got, secret) || strings.Contains(r.UpHint(), secret) {
			t.Errorf("Describe(%q) = %q, want %q", tc.url, got, tc.want)
		}
	}
}

// TestDescribeNeverShowsPassword_audit16: a password holding any of the
// characters a URL gives a meaning to, written unescaped in any of the
// places a Redis URL takes one, is never shown by Describe, whatever part
// of the URL Go's parser takes it for.
func TestDescribeNeverShowsPassword_audit16(t *testing.T) {
	const mark = "SECRETMARK"
	var pws []string
	for _, a := range []string{"", "12", "ab"} {
		for _, sep := range []string{"", "/", "?", "@", "#", ":", "%", "/0?x=", "@h2/", "?x@"} {
			pws = append(pws, a+sep+mark, mark+sep+a, a+sep+mark+sep)
		}
	}
	for _, pw := range pws {
		for _, raw := range []string{
			"redis://:" + pw + "@h:6379/0", "rediss://user:" + pw + "@h:6379/0", "redis://" + pw + "@h:6379/0",
			"redis://" + pw + ":@h:6379", "redis://u@" + pw + ":x@h:6379/0", "redis:" + pw + "@h:6379/0", "redis://:" + pw + "@h",
		} {
			if strings.Contains(pw, ":") && strings.HasPrefix(raw, "redis://"+pw) {
				continue // NAME:PASSWORD: a user name and its password, the name shown
			}
			r := Redis{URL: raw}
			if got := r.Describe(); strings.Contains(got, mark) || strings.Contains(r.UpHint(), mark) {
				t.Errorf("Describe(%q) = %q: shows the password", raw, got)
			}
		}
	}
}
