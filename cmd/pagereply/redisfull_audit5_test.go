package main

import (
	"context"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
)

// TestRedisHintFull: a command whose write a full Redis refused (OOM, at its
// maxmemory under noeviction) says to free memory or raise maxmemory, not
// "is Redis up?": Redis is up and answering. Any other failure keeps the
// up hint.
func TestRedisHintFull(t *testing.T) {
	db := redistest.New(t)
	r := config.Redis{URL: db.URL()}
	oom := db.Client.Eval(context.Background(), "return redis.error_reply(ARGV[1])", nil,
		"OOM command not allowed when used memory > 'maxmemory'.").Err()
	if oom == nil {
		t.Fatal("the script answered no error")
	}
	if h := redisHint(r, oom); !strings.Contains(h, "maxmemory") || strings.Contains(h, " up?") {
		t.Errorf("hint for %v = %q, want one about maxmemory", oom, h)
	}
	other := db.Client.Eval(context.Background(), "return redis.error_reply(ARGV[1])", nil, "LOADING Redis is loading").Err()
	if h := redisHint(r, other); h != r.UpHint() {
		t.Errorf("hint for %v = %q, want %q", other, h, r.UpHint())
	}
}
