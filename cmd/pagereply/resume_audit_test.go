package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestResumeWakeFailureExitsOne: when the pause is lifted but the replies it
// held cannot be run (asynq's retry set cannot be read), resume says the
// pause is lifted and that what it held runs only when due, and exits 1,
// not 0: the operator's script must not take it for done.
func TestResumeWakeFailureExitsOne(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 0, Comments: 0, Seed: 23}, "10/s")
	ctx := context.Background()
	page := e.sb.Pages()[0].ID
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	if set, err := l.Pause(ctx, page, time.Hour, "policy_block: (#368) blocked"); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
	// The replies queue is listed, but its retry set is no sorted set:
	// every read of it fails.
	if err := e.db.Client.SAdd(ctx, "asynq:queues", tasks.QueueReplies).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Client.Set(ctx, "asynq:{"+tasks.QueueReplies+"}:retry", "not a zset", 0).Err(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "resume", "-c", e.cfgPath, "--page", page)
	if code != exitError || !strings.Contains(out, "lifted its policy_block pause") ||
		!strings.Contains(errOut, "page "+page+" is no longer paused, but what its pause held runs only when due") {
		t.Fatalf("resume with the retry set unreadable: exit %d\n%s\n%s", code, out, errOut)
	}
	if d, why, err := l.Paused(ctx, page); err != nil || d != 0 {
		t.Fatalf("still paused for %s (%q, %v)", d, why, err)
	}
}
