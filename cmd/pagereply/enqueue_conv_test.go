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

// TestEnqueueConversationWaitsForReadSlot: pagereply enqueue --conversation
// waits up to 10 s for its Page's next conversation read slot (longer than
// an API request's 2 s: a command can), then reads and queues; a slot
// further away than that is not waited for, nor booked: the command says
// how long the reads are booked for, reads nothing, and exits 1.
func TestEnqueueConversationWaitsForReadSlot(t *testing.T) {
	t.Parallel() // mostly waits for the read slot
	ctx := context.Background()
	e := newE2E(t, sandbox.Options{Pages: 2, Seed: 12}, "10/s")
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	// Book each Page's conversation reads ahead, as polls or API calls
	// would: n seconds' worth.
	bookAhead := func(page string, n int) {
		t.Helper()
		for range n {
			if _, err := l.TakeReadKey(ctx, page, "reads:conversations", tasks.Limit{Interval: time.Second}); err != nil {
				t.Fatal(err)
			}
		}
	}
	reads := func() int {
		c := e.sb.Calls()
		return c[sandbox.EndpointThread] + c[sandbox.EndpointConversations] + c[sandbox.EndpointObject]
	}
	far, near := e.sb.Pages()[0], e.sb.Pages()[1]
	// A person who wrote to each Page ten minutes ago: in the window.
	ann := sandbox.User{ID: "7105001", Name: "Ann Person"}
	farConv, _ := e.sb.AddMessage(far.ID, ann, "hello?", time.Now().Add(-10*time.Minute))
	nearConv, _ := e.sb.AddMessage(near.ID, ann, "hello?", time.Now().Add(-10*time.Minute))

	bookAhead(far.ID, 15)
	before := reads()
	_, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", far.ID, "--conversation", farConv, "--text", "hi")
	if code != exitError || !strings.Contains(errOut, "conversation reads are booked for the next 1") {
		t.Errorf("enqueue with the read slot ~15 s away: exit %d, %q, want 1 and the reads booked", code, errOut)
	}
	if n := reads() - before; n != 0 {
		t.Errorf("enqueue made %d Graph reads though its read slot was ~15 s away", n)
	}

	bookAhead(near.ID, 4)
	out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", near.ID, "--conversation", nearConv, "--text", "hi")
	if code != exitOK || !strings.Contains(out, "queued message:") {
		t.Errorf("enqueue with the read slot ~4 s away: exit %d, %q %q, want it to wait and queue", code, out, errOut)
	}
}
