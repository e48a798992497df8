package config

import (
	"errors"
	"strings"
	"testing"
)

// TestRedisURLBareHostnamePort_audit13: a redis.url written as a bare
// host:port with a host name ("redis:6379", as docker-compose names the
// service, or "localhost:6379") parses as a URL of scheme "redis" or
// "localhost" with no "//": it was refused as "no host" (it has one) or for
// its scheme, without the form to write, where "127.0.0.1:6379" got it.
func TestRedisURLBareHostnamePort_audit13(t *testing.T) {
	for _, u := range []string{"redis:6379", "localhost:6379", "redis-master:6380/2", "rediss:6379"} {
		_, err := Parse([]byte(minimal+"redis: {url: \""+u+"\"}\n"), func(string) (string, bool) { return "", false })
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != "redis.url" || !strings.Contains(fe.Msg, "redis://host:port/db") {
			t.Errorf("redis.url %q: %v, want redis.url refused with the form redis://host:port/db", u, err)
		}
	}
	// A URL of another scheme keeps its message.
	_, err := Parse([]byte(minimal+"redis: {url: \"http://127.0.0.1:6379\"}\n"), func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "scheme must be redis:// or rediss://") {
		t.Errorf("http:// URL: %v", err)
	}
}
