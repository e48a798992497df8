package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestEnqueueConversationAnswered_audit6: pagereply enqueue --conversation
// for a conversation whose person's latest message someone at the Page
// answered in the inbox queues nothing and exits 1 ("nothing done"), as for a
// target already sent; the API answers it 409.
func TestEnqueueConversationAnswered_audit6(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Seed: 64}, "10/s")
	page := e.sb.Pages()[0]
	now := time.Now()
	person := sandbox.User{ID: "64000001", Name: "Ana"}
	conv, mid := e.sb.AddMessage(page.ID, person, "open on Sunday?", now.Add(-10*time.Minute))
	answer := e.sb.AddPageMessage(page.ID, person.ID, "Yes, 10 to 4.", now.Add(-5*time.Minute))
	if conv == "" || answer == "" {
		t.Fatal("sandbox: conversation not made")
	}
	_, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, "--conversation", conv, "--text", "hi")
	if code != exitError || !strings.Contains(errOut, "message:"+mid) || !strings.Contains(errOut, "answered") || !strings.Contains(errOut, "nothing done") {
		t.Fatalf("enqueue for an answered conversation: exit %d, %q; want exit %d, answered, nothing done", code, errOut, exitError)
	}
	// Recorded as the API and the worker record the Page's answer: the
	// target sent with the Page's message, which status and GET show.
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	en, err := l.Get(context.Background(), page.ID, tasks.Target{Kind: tasks.KindMessage, ID: mid})
	if err != nil || en.Status != tasks.StatusSent || en.MessageID != answer {
		t.Fatalf("ledger entry of message:%s: %+v %v; want sent with the Page's answer %s", mid, en, err, answer)
	}
}
