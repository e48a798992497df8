package main

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
)

// TestSentinelSomeUnreachable_audit13: go-redis asks every sentinel in
// parallel and, when none gives the master, joins their errors. Only when
// every sentinel answered nil is the master's name the mistake (exit 2 at
// start); when one answered nil and another was out of reach or too slow
// (a sentinel restarting, a replacement not yet told the master), the ones
// that did not answer may know it: pagereply waits, as for an outage.
// Before, one nil among them made the command exit 2 saying all the
// sentinels did not know the master.
func TestSentinelSomeUnreachable_audit13(t *testing.T) {
	a := &app{cfg: &config.Config{Redis: config.Redis{Sentinel: &config.Sentinel{
		Master: "mymaster", Addrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"}}}}}
	joined := func(errs ...error) error {
		return fmt.Errorf("redis: all sentinels specified in configuration are unreachable: %w", errors.Join(errs...))
	}
	dial := fmt.Errorf("dial tcp 10.0.0.2:26379: %w", syscall.ECONNREFUSED)
	if err := a.redisConfigError(joined(redis.Nil, redis.Nil)); err == nil {
		t.Error("every sentinel answered nil: no config error, want one naming redis.sentinel.master")
	}
	for _, err := range []error{
		joined(redis.Nil, dial),
		joined(dial, redis.Nil),
		joined(redis.Nil, errors.New("context deadline exceeded")),
	} {
		if cerr := a.redisConfigError(err); cerr != nil {
			t.Errorf("%v: config error %q, want none (a sentinel out of reach may know the master)", err, cerr)
		}
	}
}
