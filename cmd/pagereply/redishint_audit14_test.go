package main

import (
	"context"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
)

// TestRedisHintRefusals_audit14: a command whose Redis answered but refused
// its write says why and what to do, not "is Redis up?" (it is): a
// read-only replica (READONLY: redis.url names a replica, or a master that a
// failover demoted), a failed snapshot (MISCONF), too few replicas
// (NOREPLICAS). (LOADING, a moment's state, keeps the up hint:
// TestRedisHintFull.)
func TestRedisHintRefusals_audit14(t *testing.T) {
	db := redistest.New(t)
	r := config.Redis{URL: db.URL()}
	for _, tc := range []struct{ answer, want string }{
		{"READONLY You can't write against a read only replica.", "read-only replica"},
		{"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.", "snapshot"},
		{"NOREPLICAS Not enough good replicas to write.", "min-replicas-to-write"},
	} {
		err := db.Client.Eval(context.Background(), "return redis.error_reply(ARGV[1])", nil, tc.answer).Err()
		if err == nil {
			t.Fatal("the script answered no error")
		}
		h := redisHint(r, err)
		if !strings.Contains(h, tc.want) || strings.Contains(h, " up?") || !strings.Contains(h, r.Describe()) {
			t.Errorf("hint for %v = %q, want one naming %s and saying %q", err, h, r.Describe(), tc.want)
		}
	}
}
