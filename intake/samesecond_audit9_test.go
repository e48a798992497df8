package intake

import (
	"slices"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
)

// TestConversationItemSameSecondOrder_audit9: Graph's created_time is whole
// seconds, so the person's message and the Page's reply just before it can
// share one. Graph lists messages newest first: a Page message of the same
// second listed below the person's latest came before it (pagereply's reply
// to their previous message, which they were answering), and is no instant
// reply after it. Taken for one, its text (the reply's own) made the poll
// skip the person's new message as answered by pagereply, and the person
// never got a reply to it. One listed above it, in the same second, is still
// an instant reply after it.
func TestConversationItemSameSecondOrder_audit9(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	page := graph.User{ID: "100", Name: "Shop"}
	ana := graph.User{ID: "7", Name: "Ana"}
	reply := "Thanks for your message!"
	m := func(id string, from *graph.User, text string, d time.Duration) graph.Message {
		return graph.Message{ID: id, From: from, Message: text, CreatedTime: graph.Time{Time: at.Add(d)}}
	}
	first := m("m_1", &ana, "hi", -20*time.Second)
	for _, tc := range []struct {
		name        string
		msgs        []graph.Message // newest first
		wantInstant []string
	}{
		{"the Page's reply listed below, same second: the person wrote after it",
			[]graph.Message{m("m_3", &ana, "one more thing", 0), m("m_2", &page, reply, 0), first}, nil},
		{"the Page's message listed above, same second: an instant reply after it",
			[]graph.Message{m("m_3", &page, reply, 0), m("m_2", &ana, "one more thing", 0), first}, []string{reply}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, reason, why := ConversationItemWhy("100", graph.Conversation{ID: "t_1", Participants: []graph.User{ana, page}, Messages: tc.msgs})
			if reason != "" {
				t.Fatalf("skipped: %s (%s)", reason, why)
			}
			want := "m_2"
			if tc.wantInstant == nil {
				want = "m_3"
			}
			if it.Target.ID != want || !slices.Equal(it.InstantAfter, tc.wantInstant) {
				t.Fatalf("target %s, instant replies %q; want %s, %q", it.Target.ID, it.InstantAfter, want, tc.wantInstant)
			}
		})
	}
}
