package tasks

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
)

// TestRedisConnOptAtAfterHost_audit17: an @ after the host's end (a / or ?
// in the password, written unescaped) left the password's head as the
// host and port: RedisConnOpt (bench's --redis, which no config validation
// sees) took "redis://u:1234?client_name=kP9x@redis:6379/0" as u:1234,
// dialled it and go-redis's errors named it. It is refused, saying how to
// write those characters, without quoting the URL.
func TestRedisConnOptAtAfterHost_audit17(t *testing.T) {
	for _, u := range []string{
		"redis://u:1234?client_name=kP9x@redis:6379/0",
		"redis://u:1234/?client_name=kP9x@redis:6379/0",
		"rediss://u:1234?skip_verify=kP9x@redis:6379/0",
	} {
		opt, err := RedisConnOpt(config.Redis{URL: u})
		if err == nil {
			t.Errorf("%q: taken as %#v, want it refused", u, opt)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "%3F") || strings.Contains(msg, "1234") || strings.Contains(msg, "kP9x") {
			t.Errorf("%q: %q, want it refused saying to write a ? as %%3F, and no part of the password", u, msg)
		}
	}
}

// TestRedisConnOptNoHost_audit17: a URL without a host was dialled at
// localhost:6379 (go-redis's default), so bench --redis redis://:pw@/15
// --flush emptied database 15 of whatever Redis runs on this machine, not
// the one meant. config's redis.url refuses it ("no host"); so does
// RedisConnOpt now.
func TestRedisConnOptNoHost_audit17(t *testing.T) {
	for _, u := range []string{"redis://:kP9x@/15", "redis:///15", "redis://:6379/15", "rediss://", "redis:/15", "redis://:4821"} {
		opt, err := RedisConnOpt(config.Redis{URL: u})
		if err == nil {
			t.Errorf("%q: taken as %#v, want it refused", u, opt)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "no host") || strings.Contains(msg, "kP9x") {
			t.Errorf("%q: %q, want it refused as having no host", u, msg)
		}
	}
	// The shapes with a host are taken as before. (A query parameter but
	// skip_verify, as "?client_name=x", is refused since audit18, as
	// config's redis.url refuses it: RedisConnOpt dropped it.)
	for u, addr := range map[string]string{
		"redis://:pw@h:6379/0":               "h:6379",
		"rediss://h:6380/1?skip_verify=true": "h:6380",
		"redis://[::1]:6379":                 "[::1]:6379",
		"redis://u:p%40w%2F%3F@h/2":          "h:6379",
		"redis://u:p%40w@h:6379/0":           "h:6379",
	} {
		opt, err := RedisConnOpt(config.Redis{URL: u})
		if err != nil {
			t.Errorf("%q: %v, want it taken", u, err)
			continue
		}
		if got := opt.(asynq.RedisClientOpt).Addr; got != addr {
			t.Errorf("%q: dials %q, want %q", u, got, addr)
		}
	}
}
