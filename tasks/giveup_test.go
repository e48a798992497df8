package tasks

import (
	"context"
	"fmt"
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
		o, _, err := e.Enqueue(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, o)
		if o == Enqueued {
			// Its retries run out, as the worker archives and counts it.
			if err := insp.ArchiveTask(QueueReplies, a.String()); err != nil {
				t.Fatal(err)
			}
			if _, err := l.CountRanOut(ctx, page, a, "code 2"); err != nil {
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

// TestGiveUpAfterArchiveDeleted: a target whose tasks ran out of retries more
// than MaxReplacements times (the worker's count, CountRanOut) is recorded as
// failed for good by its next enqueue, with the last error, though its
// archived task is gone (deleted in the monitor, or trimmed by asynq).
// Before, only the replacement of an archived task that still existed was
// counted: with it gone, the enqueue queued a new task, with a full set of
// retries, at every find. A target sent since, one under the cap, and one
// with a live task (an operator ran the archived one again) are unaffected;
// the count lives as long as a ledger entry.
func TestGiveUpAfterArchiveDeleted(t *testing.T) {
	ctx := context.Background()
	e, _ := inspectingEnqueuer(t)
	l := e.Ledger
	const page = "7"
	reply := func(id string) Reply {
		return Reply{PageID: page, Target: Target{KindComment, id}, Text: "hello", Source: SourcePoll}
	}
	ranOut := func(r Reply, times int) {
		t.Helper()
		for i := range times {
			if _, err := l.CountRanOut(ctx, page, r.Target, fmt.Sprintf("reply %s: code 2, run %d", r.Target, i+1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	gone, sent, under, live := reply("7_1"), reply("7_2"), reply("7_3"), reply("7_4")
	ranOut(gone, MaxReplacements+1)
	if o, _, err := e.Enqueue(ctx, gone); err != nil || o != AlreadyFailed {
		t.Fatalf("enqueue past the cap, archived task deleted: %v %v, want failed", o, err)
	}
	en, err := l.Get(ctx, page, gone.Target)
	want := fmt.Sprintf("given up after its task ran out of retries %d times (last error: reply comment:7_1: code 2, run %d)", MaxReplacements+1, MaxReplacements+1)
	if err != nil || en.Status != StatusFailed || en.Reason != want || en.Class != ClassGivenUp {
		t.Errorf("ledger %+v %v, want failed, class %s: %q", en, err, ClassGivenUp, want)
	}
	if ttl := l.rdb.PTTL(ctx, l.ranOutKey(page, gone.Target)).Val(); ttl < DefaultLedgerTTL-time.Minute || ttl > DefaultLedgerTTL {
		t.Errorf("count's TTL %s, want the ledger's %s", ttl, DefaultLedgerTTL)
	}

	ranOut(sent, MaxReplacements+1)
	if err := l.MarkSent(ctx, page, sent.Target, "m_1"); err != nil {
		t.Fatal(err)
	}
	if o, _, err := e.Enqueue(ctx, sent); err != nil || o != AlreadySent {
		t.Errorf("enqueue of a target sent since: %v %v, want sent", o, err)
	}

	ranOut(under, MaxReplacements)
	if o, _, err := e.Enqueue(ctx, under); err != nil || o != Enqueued {
		t.Errorf("enqueue at the cap: %v %v, want enqueued", o, err)
	}

	if o, _, err := e.Enqueue(ctx, live); err != nil || o != Enqueued {
		t.Fatalf("first enqueue: %v %v", o, err)
	}
	ranOut(live, MaxReplacements+1)
	if o, _, err := e.Enqueue(ctx, live); err != nil || o != AlreadyQueued {
		t.Errorf("enqueue past the cap with a live task: %v %v, want queued", o, err)
	}
	if en, _ := l.Get(ctx, page, live.Target); en.Status != StatusNone {
		t.Errorf("live task's target recorded %v", en.Status)
	}

	// EnqueueMany reads the counts with the entries.
	many := []Reply{reply("7_5"), reply("7_6")}
	ranOut(many[1], MaxReplacements+1)
	outs, err := e.EnqueueMany(ctx, page, many)
	if err != nil || len(outs) != 2 || outs[0] != Enqueued || outs[1] != AlreadyFailed {
		t.Errorf("EnqueueMany: %v %v, want [enqueued failed]", outs, err)
	}
}
