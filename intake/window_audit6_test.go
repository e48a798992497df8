package intake

import (
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
)

// TestWindowEdges: a comment written exactly max_age ago is still inside
// the window, a millisecond more is not; a created_time in the future (Meta's
// clock ahead of this host's) is inside it, not skipped; a missing one is
// too old (no time to measure the window from). A conversation's window is
// Messenger's 24 hours from the person's last message, whatever the Page (its
// instant reply) wrote after it.
func TestWindowEdges(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	page := &config.Page{ID: "100", DefaultText: "Thanks!", MaxAge: 168 * time.Hour}
	comment := func(created time.Time) Item {
		return Item{Target: tasks.Target{Kind: tasks.KindComment, ID: "1_1"}, From: graph.User{ID: "7"},
			Created: created, CanReplyPrivately: true}
	}
	for _, tc := range []struct {
		name    string
		created time.Time
		want    Reason
	}{
		{"exactly max_age", now.Add(-168 * time.Hour), ""},
		{"a millisecond past", now.Add(-168*time.Hour - time.Millisecond), SkipTooOld},
		{"five minutes in the future", now.Add(5 * time.Minute), ""},
		{"missing", time.Time{}, SkipTooOld},
	} {
		if _, reason, err := Check(page, comment(tc.created), now); reason != tc.want || err != nil {
			t.Errorf("%s: %q, %v; want %q", tc.name, reason, err, tc.want)
		}
	}

	ana, pg := graph.User{ID: "7", Name: "Ana"}, graph.User{ID: "100"}
	personAt := now.Add(-24*time.Hour - time.Second)
	it, reason := ConversationItem("100", graph.Conversation{ID: "t_1", Participants: []graph.User{pg, ana},
		Messages: []graph.Message{
			{ID: "m_2", From: &pg, CreatedTime: graph.Time{Time: personAt.Add(5 * time.Second)}, Message: "Away now"},
			{ID: "m_1", From: &ana, CreatedTime: graph.Time{Time: personAt}, Message: "hello"}}})
	if reason != "" || !it.Created.Equal(personAt) {
		t.Fatalf("conversation: %q, created %v; want the person's message's time %v", reason, it.Created, personAt)
	}
	if _, reason, _ := Check(page, it, now); reason != SkipTooOld {
		t.Errorf("person's last message 24h1s ago, the Page's instant reply after it: %q, want %q", reason, SkipTooOld)
	}
	it.Created = now.Add(-24 * time.Hour)
	if _, reason, _ := Check(page, it, now); reason != "" {
		t.Errorf("person's last message exactly 24h ago: %q, want eligible", reason)
	}
}
