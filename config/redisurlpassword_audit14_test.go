package config

import (
	"strings"
	"testing"
)

// TestRedisURLPasswordCharsHint_audit14: a Redis password holding a
// character a URL gives a meaning to (%, #, /, ?, a space), written as is
// in redis.url, made a URL Go cannot parse, refused with "not a valid URL:
// write it as redis://host:port/db" alone, which the URL already looks
// like: its writer could not tell what to change. (The hints for # and for
// / or ? came only when the URL still parsed, as "redis://u:4821#kP9@h".)
// The message now says how to write such characters, and still never
// quotes the URL or its password; a URL with no password keeps the message
// on its form.
func TestRedisURLPasswordCharsHint_audit14(t *testing.T) {
	for _, pw := range []string{"Zq%Xk9v", "Zq#Xk9v", "Zq/Xk/9v", "Zq Xk9v", "Zq?Xk9v"} {
		raw := "redis://:" + pw + "@127.0.0.1:6379/0"
		_, err := Parse([]byte("redis: {url: \"${R}\"}\npages:\n  - {id: \"1\", access_token: t, default_text: hi}\n"),
			func(k string) (string, bool) { return raw, k == "R" })
		if err == nil {
			t.Errorf("%q: taken", pw)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "redis.url: ") || strings.Contains(msg, "Zq") || strings.Contains(msg, "Xk") || strings.Contains(msg, "…") {
			t.Errorf("%q: %s", pw, msg)
		}
		for _, want := range []string{"%25", "%23", "%2F", "%3F", "%20"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%q: %s: does not say how to write the password's characters (%s)", pw, msg, want)
			}
		}
		if err := RedisURLProblem(raw); err == nil || !strings.Contains(err.Error(), "%25") || strings.Contains(err.Error(), "Xk") {
			t.Errorf("RedisURLProblem(%q) = %v, want the password hint without the password", pw, err)
		}
	}
	// No password: the message on the form alone.
	if err := RedisURLProblem("redis://127.0.0.1:xx/0"); err == nil || err.Error() != msgRedisURLForm {
		t.Errorf("RedisURLProblem(no password) = %v, want %q", err, msgRedisURLForm)
	}
}
