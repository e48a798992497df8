package intake

import (
	"fmt"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
)

// TestConversationItemOddShapes_audit6: only a conversation of the Page and
// one person gets a reply, and only to that person's own message. A group
// thread (two people besides the Page) or a latest message by someone who is
// not the participant is skipped as cannot_reply with a reason in words:
// answering the first participant would send the reply to someone who did
// not write the message.
func TestConversationItemOddShapes_audit6(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	page := graph.User{ID: "100", Name: "Shop"}
	ana, bob := graph.User{ID: "7", Name: "Ana"}, graph.User{ID: "8", Name: "Bob"}
	msg := func(id string, from *graph.User, d time.Duration) graph.Message {
		return graph.Message{ID: id, From: from, CreatedTime: graph.Time{Time: at.Add(d)}}
	}
	for _, tc := range []struct {
		name       string
		parts      []graph.User
		msgs       []graph.Message
		wantReason Reason
		wantWhy    string
		wantPSID   string
	}{
		{"group thread, latest by the second person", []graph.User{page, ana, bob}, []graph.Message{msg("m_2", &bob, time.Minute), msg("m_1", &ana, 0)}, SkipCannotReply, WhyGroup, ""},
		{"group thread, latest by the first person", []graph.User{page, ana, bob}, []graph.Message{msg("m_1", &ana, 0)}, SkipCannotReply, WhyGroup, ""},
		{"latest by someone not a participant", []graph.User{page, ana}, []graph.Message{msg("m_2", &bob, time.Minute), msg("m_1", &ana, 0)}, SkipCannotReply, WhyOtherWriter, ""},
		{"only the Page", []graph.User{page}, []graph.Message{msg("m_1", &ana, 0)}, SkipCannotReply, WhyNoPerson, ""},
		{"no participants", nil, []graph.Message{msg("m_1", &ana, 0)}, SkipCannotReply, WhyNoPerson, ""},
		{"participant listed twice", []graph.User{page, ana, ana}, []graph.Message{msg("m_1", &ana, 0)}, "", "", "7"},
		{"participant without id aside", []graph.User{page, {Name: "?"}, ana}, []graph.Message{msg("m_1", &ana, 0)}, "", "", "7"},
		{"the Page not listed", []graph.User{ana}, []graph.Message{msg("m_1", &ana, 0)}, "", "", "7"},
		{"message without from", []graph.User{page, ana}, []graph.Message{msg("m_1", nil, 0)}, "", "", "7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, reason, why := ConversationItemWhy("100", graph.Conversation{ID: "t_1", Participants: tc.parts, Messages: tc.msgs})
			if reason != tc.wantReason || why != tc.wantWhy || it.PSID != tc.wantPSID {
				t.Fatalf("reason %q, why %q, psid %q; want %q, %q, %q", reason, why, it.PSID, tc.wantReason, tc.wantWhy, tc.wantPSID)
			}
			if _, r := ConversationItem("100", graph.Conversation{ID: "t_1", Participants: tc.parts, Messages: tc.msgs}); r != reason {
				t.Fatalf("ConversationItem reason %q, ConversationItemWhy %q", r, reason)
			}
		})
	}
}

// TestConversationItemLongBurst_audit6: a person who wrote 30 messages in a
// row, of which Graph's first page holds the newest 25 (newest first): the
// target is the newest, and the window runs from it. A later first page
// that holds the Page's answer to it skips the conversation (SkipOwn), and
// one with the person's further messages targets the newest of those: the
// target only ever moves to a newer message, never back to one answered.
func TestConversationItemLongBurst_audit6(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	page, ana := graph.User{ID: "100"}, graph.User{ID: "7"}
	var all []graph.Message // oldest first
	for i := 1; i <= 30; i++ {
		all = append(all, graph.Message{ID: fmt.Sprintf("m_%d", i), From: &ana, CreatedTime: graph.Time{Time: at.Add(time.Duration(i) * time.Second)}})
	}
	firstPage := func(msgs []graph.Message) []graph.Message {
		var out []graph.Message
		for i := len(msgs) - 1; i >= 0 && len(out) < 25; i-- {
			out = append(out, msgs[i])
		}
		return out
	}
	conv := func(msgs []graph.Message) graph.Conversation {
		return graph.Conversation{ID: "t_1", Participants: []graph.User{page, ana}, Messages: firstPage(msgs)}
	}
	it, reason := ConversationItem("100", conv(all))
	if reason != "" || it.Target.ID != "m_30" || !it.Created.Equal(at.Add(30*time.Second)) {
		t.Fatalf("30 messages: %q, target %s at %s; want m_30 at +30s", reason, it.Target, it.Created)
	}
	answered := append(append([]graph.Message(nil), all...), graph.Message{ID: "m_31", From: &page, CreatedTime: graph.Time{Time: at.Add(5 * time.Minute)}})
	if _, reason := ConversationItem("100", conv(answered)); reason != SkipOwn {
		t.Fatalf("after the Page's answer: %q, want %q", reason, SkipOwn)
	}
	more := append(answered, graph.Message{ID: "m_32", From: &ana, CreatedTime: graph.Time{Time: at.Add(10 * time.Minute)}})
	if it, reason := ConversationItem("100", conv(more)); reason != "" || it.Target.ID != "m_32" {
		t.Fatalf("a new message after the answer: %q, target %s; want m_32", reason, it.Target)
	}
}
