package tasks

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/config"
)

// TestRedisConnOptFragment_audit16: a # in a Redis URL's password (bench's
// --redis, which no config validation sees) starts the URL's fragment, and
// the password's head is the host and port: go-redis took
// "redis://:4821#kP9@redis:6379/0" as 127.0.0.1:4821, dialled it, and its
// error ("dial tcp 127.0.0.1:4821: connection refused") showed that head.
// It is refused as config's redis.url refuses it, with what to write.
func TestRedisConnOptFragment_audit16(t *testing.T) {
	for _, u := range []string{"redis://:4821#kP9@redis:6379/0", "redis://default:4821#kP9@redis:6379/0", "rediss://h:6379/0#x"} {
		opt, err := RedisConnOpt(config.Redis{URL: u})
		if err == nil {
			t.Errorf("%q: taken as %#v, want it refused", u, opt)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "%23") || strings.Contains(msg, "4821") {
			t.Errorf("%q: %q, want it refused saying to write a # as %%23, and no part of the password", u, msg)
		}
	}
}
