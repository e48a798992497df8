package tasks

import (
	"context"
	"testing"
)

// TestEnqueueFailedForGood: a target the ledger has failed for good is
// AlreadyFailed and gets no task: queued again, its reply would be tried
// anew though Graph refused it for good.
func TestEnqueueFailedForGood(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	tg := Target{KindComment, "1_2"}
	if err := e.Ledger.MarkFailed(ctx, "7", tg, "code 10903"); err != nil {
		t.Fatal(err)
	}
	o, info, err := e.Enqueue(ctx, Reply{PageID: "7", Target: tg, Text: "hi", Source: SourceAPI})
	if err != nil || o != AlreadyFailed || info != nil {
		t.Fatalf("enqueue of a failed target: %v %v %v, want failed", o, info, err)
	}
	if _, err := insp.GetTaskInfo(QueueReplies, tg.String()); err == nil {
		t.Errorf("a task was queued for a target failed for good")
	}
}

// TestMaxReplacementsIsThree: a target whose tasks ran out of retries 3
// times is queued once more; at 4 it is given up (three more tasks, as
// MaxReplacements documents: each brings max_retry+1 sends).
func TestMaxReplacementsIsThree(t *testing.T) {
	ctx := context.Background()
	e, _ := inspectingEnqueuer(t)
	for _, tc := range []struct {
		ranOut int
		want   Outcome
	}{{3, Enqueued}, {4, AlreadyFailed}} {
		tg := Target{KindComment, "1_" + string(rune('0'+tc.ranOut))}
		for range tc.ranOut {
			if _, err := e.Ledger.CountRanOut(ctx, "7", tg, "code 2"); err != nil {
				t.Fatal(err)
			}
		}
		o, _, err := e.Enqueue(ctx, Reply{PageID: "7", Target: tg, Text: "hi", Source: SourcePoll})
		if err != nil || o != tc.want {
			t.Errorf("ran out %d times: %v %v, want %v", tc.ranOut, o, err, tc.want)
		}
	}
}

// TestReplaceInDoubtKeepsText: an archived conversation reply whose attempt
// may have reached the person (ledger unknown) is replaced by a task with the
// archived one's text, not the new caller's: the worker's check looks for
// the text that attempt sent.
func TestReplaceInDoubtKeepsText(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	tg := Target{KindMessage, "m_a"}
	r := Reply{PageID: "7", Target: tg, PSID: "42", ConversationID: "t_1", Text: "first text", Source: SourcePoll}
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	if err := e.Ledger.MarkUnknown(ctx, "7", tg, 0); err != nil {
		t.Fatal(err)
	}
	if err := insp.ArchiveTask(QueueReplies, tg.String()); err != nil {
		t.Fatal(err)
	}
	r.Text = "second text"
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("replacing enqueue: %v %v", o, err)
	}
	ti, err := insp.GetTaskInfo(QueueReplies, tg.String())
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeReply(ti.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if got.Text != "first text" {
		t.Errorf("replacement of a reply in doubt has text %q, want the archived one's %q", got.Text, "first text")
	}
}

// TestEnqueueManyOtherPage: EnqueueMany refuses a reply of another Page than
// the one it reads the ledger of, and queues nothing: its ledger entry would
// have been read under the wrong Page (a sent reply taken for unsent).
func TestEnqueueManyOtherPage(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	tg := Target{KindComment, "8_1"}
	out, err := e.EnqueueMany(ctx, "7", []Reply{{PageID: "8", Target: tg, Text: "hi", Source: SourcePoll}})
	if err == nil {
		t.Errorf("EnqueueMany with a reply of another Page: %v, want an error", out)
	}
	if _, err := insp.GetTaskInfo(QueueReplies, tg.String()); err == nil {
		t.Errorf("a task was queued for a reply of another Page")
	}
}
