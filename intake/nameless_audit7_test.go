package intake

import (
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
)

// TestCheckNamelessPerson: a comment, post or message whose person Graph
// gives no name (no from, or an empty name) gets a reply without the gap
// the name would have filled, whichever path (poll, webhook, dry run, API
// conversation reply) checks it.
func TestCheckNamelessPerson(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	created := graph.Time{Time: now.Add(-time.Hour)}
	page := &config.Page{ID: "100", DefaultText: "Thanks for your message, {{.FirstName}}!"}
	nameless := &graph.User{ID: "7"}
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: "100"}, {ID: "8"}},
		Messages: []graph.Message{{ID: "m_1", CreatedTime: created}}}
	msg, why := ConversationItem("100", conv)
	if why != "" {
		t.Fatalf("ConversationItem: %q", why)
	}
	for name, it := range map[string]Item{
		"comment without from":      CommentItem("100_1", graph.Comment{ID: "1_2", CreatedTime: created, CanReplyPrivately: true}),
		"comment with no name":      CommentItem("100_1", graph.Comment{ID: "1_3", From: nameless, CreatedTime: created, CanReplyPrivately: true}),
		"post with no name":         PostItem(graph.Post{ID: "100_5", From: nameless, CreatedTime: created, CanReplyPrivately: true}),
		"message by a nameless one": msg,
	} {
		if text, reason, err := Check(page, it, now); text != "Thanks for your message!" || reason != "" || err != nil {
			t.Errorf("%s: Check = %q, %q, %v; want %q", name, text, reason, err, "Thanks for your message!")
		}
	}
}
