package config

import (
	"errors"
	"strings"
	"testing"
)

// TestRedisURLBareHostPort_audit12: a redis.url written as a bare
// host:port, as redis-cli takes it, is refused with the form to write
// (redis://host:port/db): "not a valid URL" alone did not say what was
// wrong with it.
func TestRedisURLBareHostPort_audit12(t *testing.T) {
	for _, u := range []string{"127.0.0.1:6379", "10.0.0.5:6380/2"} {
		_, err := Parse([]byte(minimal+"redis: {url: \""+u+"\"}\n"), func(string) (string, bool) { return "", false })
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != "redis.url" || !strings.Contains(fe.Msg, "redis://host:port/db") {
			t.Errorf("redis.url %q: %v, want redis.url refused with the form redis://host:port/db", u, err)
		}
	}
}
