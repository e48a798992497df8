package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestDemoAgainReadsItsConversations: a demo run on a database an earlier run
// used answers the conversations its own sandbox seeds. The earlier run's
// polls recorded the newest conversation they read: the thread a private reply
// of that run opened, dated then, later than every message the new run's
// sandbox seeds (it is seeded afresh, dated from its own start). Kept, that
// record made the new run's polls read no conversation at all: --once ran out
// its time with the conversations unanswered (seen when the earlier run's
// last poll came after its sends, under load).
func TestDemoAgainReadsItsConversations(t *testing.T) {
	t.Parallel() // mostly waits on the processes it runs; own database
	ctx := context.Background()
	db := redistest.New(t)
	args := []string{"demo", "--once", "--addr", "127.0.0.1:0", "--redis", db.URL(), "--timeout", "30s", "--seed", "4", "--pages", "1", "--posts", "2", "--comments", "4"}
	out, errOut, code := run(t, append(args, "--conversations", "0")...)
	if code != exitOK {
		t.Fatalf("first run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	page := sandbox.New(sandbox.Options{Pages: 1, Seed: 4}).Pages()[0].ID
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	defer l.Close()
	// What a poll of the first run records once its private replies are
	// sent: their threads are the newest conversations, updated just now.
	_, convs := worker.PollStateKeys(l, page)
	if err := db.Client.Set(ctx, convs, time.Now().Unix(), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, append(args, "--conversations", "6")...)
	m := regexp.MustCompile(`(?m)^(\d+) comments, posts and messages are eligible`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Fatalf("second run: no eligible count:\n%s", out)
	}
	if code != exitOK || !strings.Contains(out, "sent "+m[1]+"/"+m[1]+", refused 0, queued 0") {
		t.Errorf("second run: exit %d, want 0 with its %s items sent\nstdout:\n%s\nstderr:\n%s", code, m[1], out, errOut)
	}
	if !strings.Contains(out, "  message:") { // a conversation reply, named by the message it answers
		t.Errorf("second run: no conversation answered:\n%s", out)
	}
}
