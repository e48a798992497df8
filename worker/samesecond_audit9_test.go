package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// replyLanded sends the reply text to a person's first message, written 30 s
// ago, and returns it with the time its send reached the sandbox (the Page's
// message there is dated in that second).
func replyLanded(t *testing.T, h *harness, psid, text string) (tasks.Reply, time.Time) {
	t.Helper()
	page := h.pages[0].ID
	wrote := time.Now().Add(-30 * time.Second)
	conv, mid := h.sb.AddMessage(page, sandbox.User{ID: psid, Name: "Ana"}, "hi, are you open today?", wrote)
	if conv == "" {
		t.Fatal("sandbox: no conversation")
	}
	r := tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindMessage, ID: mid}, PSID: psid, ConversationID: conv,
		Text: text, Source: tasks.SourcePoll, Created: wrote.Truncate(time.Second).UnixMilli()}
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 20*time.Second)
	for _, s := range h.sb.Sends() {
		if s.Target == psid {
			return r, s.Time
		}
	}
	t.Fatal("no send to the person")
	return r, time.Time{}
}

// TestMessageRightAfterReplyAnswered_audit9: the person writes again a moment
// after pagereply's reply reached them, in the same second (Graph's
// created_time is whole seconds) or before the worker recorded the reply for
// them (after Graph answered the send). The message is a new one, written
// after a reply (docs/BEHAVIOUR.md: a person who writes again after a reply
// gets another), but its created_time is not after the reply's record: the
// person's record took it for a message the reply had answered, and the
// person never got a reply to it. The worker now reads the conversation when
// the two are that close, and Graph's order (newest first) tells: listed
// above the reply, it is answered; listed below it (written before the reply
// landed), it is not, and nothing more is sent.
func TestMessageRightAfterReplyAnswered_audit9(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 93})
	page := h.pages[0].ID
	h.startWorker(t, 4)

	const after, before = "93000001", "93000002"
	first, landed := replyLanded(t, h, after, defaultText)
	_, mid := h.sb.AddMessage(page, sandbox.User{ID: after, Name: "Ana"}, "and on Sunday?", landed)
	again := tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindMessage, ID: mid}, PSID: after, ConversationID: first.ConversationID,
		Text: defaultText, Source: tasks.SourcePoll, Created: landed.Truncate(time.Second).UnixMilli()}
	h.enqueueAll(t, []tasks.Reply{again})
	h.waitSent(t, []tasks.Reply{again}, 20*time.Second)
	if n := h.sb.SendCount(after); n != 2 {
		t.Errorf("the person who wrote again after the reply got %d replies in all, want 2", n)
	}

	// The person's second message written a moment before the reply to
	// their first landed: the reply answered both.
	page2 := h.pages[0].ID
	wrote := time.Now().Add(-30 * time.Second)
	conv, m1 := h.sb.AddMessage(page2, sandbox.User{ID: before, Name: "Bo"}, "hi", wrote)
	sentAt := time.Now()
	_, m2 := h.sb.AddMessage(page2, sandbox.User{ID: before, Name: "Bo"}, "are you there?", sentAt)
	r1 := tasks.Reply{PageID: page2, Target: tasks.Target{Kind: tasks.KindMessage, ID: m1}, PSID: before, ConversationID: conv,
		Text: defaultText, Source: tasks.SourcePoll, Created: wrote.Truncate(time.Second).UnixMilli()}
	h.enqueueAll(t, []tasks.Reply{r1})
	h.waitSent(t, []tasks.Reply{r1}, 20*time.Second)
	r2 := tasks.Reply{PageID: page2, Target: tasks.Target{Kind: tasks.KindMessage, ID: m2}, PSID: before, ConversationID: conv,
		Text: defaultText, Source: tasks.SourcePoll, Created: sentAt.Truncate(time.Second).UnixMilli()}
	h.enqueueAll(t, []tasks.Reply{r2})
	h.waitSent(t, []tasks.Reply{r2}, 20*time.Second)
	if n := h.sb.SendCount(before); n != 1 {
		t.Errorf("the person whose two messages came before the reply got %d replies, want 1", n)
	}
}

// TestPollAnswersMessageRightAfterReply_audit9: the same, end to end: the poll
// reads the conversation, where the person's new message shares its second
// with pagereply's reply listed below it. The poll took that reply for an
// instant reply after the message, with the reply's own text, and skipped
// the message as answered by pagereply; now it queues it, and the worker
// sends it.
func TestPollAnswersMessageRightAfterReply_audit9(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 94})
	pages := conversationPages(h)
	h.pages = pages
	page := pages[0].ID
	h.startWorker(t, 4)
	const psid = "94000001"
	// The text the poll queued for Ana's first message (the Page's default
	// text, rendered for her).
	_, landed := replyLanded(t, h, psid, "Thanks for your comment, Ana!")
	h.sb.AddMessage(page, sandbox.User{ID: psid, Name: "Ana"}, "and on Sunday?", landed)
	pl := worker.NewPoller(h.pollParams(pages))
	rep, err := pl.Poll(context.Background(), page, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued() != 1 {
		t.Fatalf("poll queued %d replies (skipped %v), want the person's new message", rep.Enqueued(), rep.Skipped)
	}
	deadline := time.Now().Add(20 * time.Second)
	for h.sb.SendCount(psid) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := h.sb.SendCount(psid); n != 2 {
		t.Errorf("the person got %d replies in all, want 2 (one per message, the second written after the first reply)", n)
	}
}
