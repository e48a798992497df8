package tasks

import (
	"context"
	"testing"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestRedisStateInScriptErrors_audit14: Redis 6.2 (pagereply's documented
// minimum) answers a script whose command it refused (a replica after a
// failover, a full Redis, a failed snapshot, too few replicas) with the
// script's own error, "ERR Error running script (call to f_...): ...", the
// command's code inside it; Redis 7 puts the code first. Either is Redis's
// state, so the ledger's scripts wait it out like its plain commands,
// instead of using a reply's retries (and archiving it unsent). Before,
// only a code at the start counted: on Redis 6.2 a failover's READONLY or
// a full Redis's OOM in a reservation was taken for the command's fault.
// The answers are real go-redis errors, made by Redis's error_reply.
func TestRedisStateInScriptErrors_audit14(t *testing.T) {
	db := redistest.New(t)
	answer := func(msg string) error {
		t.Helper()
		err := db.Client.Eval(context.Background(), "return redis.error_reply(ARGV[1])", nil, msg).Err()
		if err == nil {
			t.Fatalf("error_reply(%q) answered no error", msg)
		}
		return err
	}
	for _, c := range []struct {
		msg  string
		code string
	}{
		// Redis 6.2's shapes: luaPushError's "source: line: " before the
		// shared error reply, which keeps its "-" (and its CRLF).
		{"ERR Error running script (call to f_5d3c4e6e2b0c1f0a9e8d7c6b5a4f3e2d1c0b9a88): @user_script:12: @user_script: 12: -READONLY You can't write against a read only replica.\r\n", "READONLY"},
		{"ERR Error running script (call to f_5d3c4e6e2b0c1f0a9e8d7c6b5a4f3e2d1c0b9a88): @user_script:7: @user_script: 7: -OOM command not allowed when used memory > 'maxmemory'.\r\n", "OOM"},
		{"ERR Error running script (call to f_5d3c4e6e2b0c1f0a9e8d7c6b5a4f3e2d1c0b9a88): @user_script:3: @user_script: 3: -MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.\r\n", "MISCONF"},
		{"ERR Error running script (call to f_5d3c4e6e2b0c1f0a9e8d7c6b5a4f3e2d1c0b9a88): @user_script:3: @user_script: 3: -NOREPLICAS Not enough good replicas to write.\r\n", "NOREPLICAS"},
		// A command's own error reply, its "-" dropped.
		{"ERR Error running script (call to f_5d3c4e6e2b0c1f0a9e8d7c6b5a4f3e2d1c0b9a88): @user_script:3: READONLY You can't write against a read only replica.", "READONLY"},
		// Redis 7's shape.
		{"READONLY You can't write against a read only replica. script: 5d3c4e6e2b0c1f0a9e8d7c6b5a4f3e2d1c0b9a88, on @user_script:12.", "READONLY"},
		{"OOM command not allowed when used memory > 'maxmemory'.", "OOM"},
		// The command's fault, not Redis's state.
		{"ERR Error running script (call to f_5d3c4e6e2b0c1f0a9e8d7c6b5a4f3e2d1c0b9a88): @user_script:3: WRONGTYPE Operation against a key holding the wrong kind of value", ""},
		{"ERR Error running script (call to f_5d3c4e6e2b0c1f0a9e8d7c6b5a4f3e2d1c0b9a88): @user_script:3: user_script:3: Script attempted to access nonexistent global variable 'READONLYX'", ""},
		{"ERR unknown command 'OOM', with args beginning with: ", ""},
		{"READONLYX something", ""},
	} {
		err := answer(c.msg)
		if got := RedisStateCode(err); got != c.code {
			t.Errorf("RedisStateCode(%q) = %q, want %q", c.msg, got, c.code)
		}
		if got := RedisAway(err); got != (c.code != "") {
			t.Errorf("RedisAway(%q) = %v, want %v", c.msg, got, c.code != "")
		}
		if got := RedisFull(err); got != (c.code == "OOM") {
			t.Errorf("RedisFull(%q) = %v, want %v", c.msg, got, c.code == "OOM")
		}
	}
	if RedisStateCode(nil) != "" || RedisStateCode(context.Canceled) != "" {
		t.Error("RedisStateCode of no Redis answer is not empty")
	}
}
