package tasks

import (
	"context"
	"testing"

	"github.com/pagereply/pagereply/internal/redisproc"
)

// TestRedisRefusingWritesIsAway_audit14: the other states in which Redis
// answers but refuses every write for a while, as OOM does (RedisFull), are
// RedisAway too, from a command or from a script: MISCONF (a failed RDB
// snapshot under stop-writes-on-bgsave-error yes, as deploy/redis/redis.conf
// sets it, e.g. a full disk) and NOREPLICAS (fewer replicas than
// min-replicas-to-write). Before, each was an answer like any other: a reply
// that met one used a retry, and one refused for longer than
// worker.max_retry's backoffs was archived unsent.
func TestRedisRefusingWritesIsAway_audit14(t *testing.T) {
	ctx := context.Background()
	check := func(name string, srv *redisproc.Server) {
		t.Helper()
		c := srv.Client()
		for what, err := range map[string]error{
			"SET":    c.Set(ctx, "k", "v", 0).Err(),
			"script": c.Eval(ctx, "redis.call('DEL', KEYS[1]); return redis.call('SET', KEYS[1], 'v')", []string{"k"}).Err(),
		} {
			if err == nil {
				t.Errorf("%s: %s was taken; the test proves nothing", name, what)
			} else if !RedisAway(err) {
				t.Errorf("%s: %s: %v: RedisAway false, want true", name, what, err)
			}
		}
	}

	noReplicas := redisproc.Start(t, redisproc.Options{Args: []string{"--min-replicas-to-write", "1"}})
	check("NOREPLICAS", noReplicas)

	// A snapshot that cannot be written: its directory is gone.
	misconf := redisproc.Start(t, redisproc.Options{Args: []string{"--save", "3600 1", "--stop-writes-on-bgsave-error", "yes"}})
	misconf.FailSnapshot()
	check("MISCONF", misconf)
}
