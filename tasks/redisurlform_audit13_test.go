package tasks

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/config"
)

// TestRedisConnOptBareHostPort_audit13: a Redis URL written as a bare
// host:port (bench's --redis 127.0.0.1:6379, as redis-cli takes it) is
// refused with the form to write, redis://host:port/db, as config's
// redis.url is, not "not a valid URL" alone. One with a host name
// ("redis:6379/15", "localhost:6379") parses as a URL of scheme "redis" or
// "localhost" without "//": "redis:6379/15" was taken, and go-redis dials
// localhost:6379, database 0, for it (which bench --flush empties).
func TestRedisConnOptBareHostPort_audit13(t *testing.T) {
	for _, u := range []string{"127.0.0.1:6379", "10.0.0.5:6380/2", "redis:6379/15", "rediss:6380", "localhost:6379", "default:s3cretpw@h:6379"} {
		opt, err := RedisConnOpt(config.Redis{URL: u})
		if err == nil {
			t.Errorf("%q: taken as %#v, want it refused", u, opt)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "redis.url: ") || !strings.Contains(msg, "redis://host:port/db") {
			t.Errorf("%q: %q, want redis.url refused with the form redis://host:port/db", u, msg)
		}
	}
	// A URL of another scheme keeps its message; a redis:// one is taken.
	if _, err := RedisConnOpt(config.Redis{URL: "http://127.0.0.1:6379/0"}); err == nil || err.Error() != "redis.url: scheme must be redis:// or rediss://" {
		t.Errorf("http:// URL: %v", err)
	}
	if _, err := RedisConnOpt(config.Redis{URL: "redis://127.0.0.1:6379/15"}); err != nil {
		t.Errorf("redis:// URL: %v", err)
	}
}
