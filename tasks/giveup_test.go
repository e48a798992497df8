package tasks

import (
	"context"
	"testing"
	"time"
)

// TestGiveUpKeepsConversationDoubt: a conversation reply A whose send's
// outcome is unknown (ledger "u") holds its person, so a reply to the
// person's earlier message B waits for A's next attempt to ask Graph. Past
// MaxReplacements, A is still replaced rather than given up: before, the
// next find marked A failed with no Graph check, its doubt was gone, and B
// was free to be sent though A's reply may have reached the person.
func TestGiveUpKeepsConversationDoubt(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	l := e.Ledger
	const page = "7"
	who := Person{ID: "42"}
	b := Target{KindMessage, "m_b"}
	a := Target{KindMessage, "m_a"}
	written := time.Now().Add(-time.Minute)
	// A's attempt claimed the person and its send's answer was lost.
	if pc, err := l.PersonClaim(ctx, page, who, a, "tokA", written, 24*time.Hour); err != nil || pc.Outcome != PersonClaimed {
		t.Fatalf("claim for A: %+v %v", pc, err)
	}
	if err := l.MarkUnknown(ctx, page, a, 0); err != nil {
		t.Fatal(err)
	}
	busy := func() PersonOutcome {
		pc, err := l.PersonClaim(ctx, page, who, b, "tokB", written.Add(-time.Second), 24*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if pc.Outcome == PersonClaimed {
			_ = l.PersonRelease(ctx, page, who, b, "tokB")
		}
		return pc.Outcome
	}
	if o := busy(); o != PersonBusy {
		t.Fatalf("B while A is in doubt: %v, want busy", o)
	}
	r := Reply{PageID: page, Target: a, PSID: "42", ConversationID: "t_1", Text: "hello", Source: SourcePoll}
	var outs []Outcome
	for i := 0; i <= MaxReplacements+1; i++ {
		entry, _ := l.Get(ctx, page, a)
		o, _, err := e.enqueueChecked(ctx, r, entry)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, o)
		if o == Enqueued {
			if err := insp.ArchiveTask(QueueReplies, a.String()); err != nil {
				t.Fatal(err)
			}
		}
	}
	en, _ := l.Get(ctx, page, a)
	t.Logf("outcomes %v, A's entry %v %q", outs, en.Status, en.Reason)
	if en.Status == StatusFailed {
		t.Errorf("A, in doubt (its reply may have reached the person), recorded failed with no Graph check")
	}
	if o := busy(); o != PersonBusy {
		t.Errorf("B after A was given up: %v, want still held by A's doubt (a second reply to the person)", o)
	}
}
