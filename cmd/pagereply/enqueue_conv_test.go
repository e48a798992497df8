package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestEnqueueConversationHonoursPause: pagereply enqueue --conversation reads
// the conversation from Graph as the API does, so it reads nothing for a
// paused Page, and a read Graph throttles pauses the Page, so the workers
// stop calling too. Before, it called Graph straight through a pause (a
// script looping the command called at its own speed through a block) and
// left a throttled Page unpaused.
func TestEnqueueConversationHonoursPause(t *testing.T) {
	ctx := context.Background()
	e := newE2E(t, sandbox.Options{Pages: 1, Conversations: 2, Seed: 11}, "10/s")
	page := e.sb.Pages()[0]
	convs := e.sb.Conversations(page.ID)
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	if set, err := l.Pause(ctx, page.ID, time.Hour, "policy_block: (#368) Temporarily blocked for policies violations"); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
	reads := func() int {
		c := e.sb.Calls()
		return c[sandbox.EndpointThread] + c[sandbox.EndpointConversations] + c[sandbox.EndpointObject]
	}
	before := reads()
	_, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, "--conversation", convs[0].ID, "--text", "hi")
	if code != exitError || !strings.Contains(errOut, "paused") {
		t.Errorf("enqueue for a paused Page: exit %d, %q", code, errOut)
	}
	if n := reads() - before; n != 0 {
		t.Errorf("enqueue --conversation made %d Graph reads for a Page paused for an hour", n)
	}
	if err := l.Resume(ctx, page.ID); err != nil {
		t.Fatal(err)
	}
	e.sb.Throttle(page.ID, 10*time.Minute)
	if _, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, "--conversation", convs[1].ID, "--text", "hi"); code != exitError {
		t.Errorf("enqueue for a throttled Page: exit %d, %q", code, errOut)
	}
	if d, reason, err := l.Paused(ctx, page.ID); err != nil || d <= 0 {
		t.Errorf("Graph throttled the Page's read, and the Page is not paused (%v %q %v)", d, reason, err)
	}
}
