package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/tasks"
)

// oneConversation answers every conversation read with c.
type oneConversation struct{ c graph.Conversation }

func (o oneConversation) Conversation(context.Context, string, string) (graph.Conversation, error) {
	return o.c, nil
}

// TestConversationReplyWindow: a conversation reply from the API honours the
// Page's max_age when it is shorter than Messenger's 24 hours.
func TestConversationReplyWindow(t *testing.T) {
	now := time.Now()
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: "100"}, {ID: "7001"}},
		Messages: []graph.Message{{ID: "m_2", Message: "hi?", From: &graph.User{ID: "7001"}, CreatedTime: graph.Time{Time: now.Add(-3 * time.Hour)}}}}
	for _, tc := range []struct {
		maxAge  time.Duration
		wantErr string
	}{
		{maxAge: 168 * time.Hour},
		{maxAge: 4 * time.Hour},
		{maxAge: 2 * time.Hour, wantErr: "max_age 2h0m0s"},
	} {
		page := &config.Page{ID: "100", AccessToken: "tok", MaxAge: tc.maxAge}
		var r tasks.Reply
		err := api.ConversationReply(context.Background(), oneConversation{conv}, page, "t_1", now, &r)
		var ce *api.ConversationError
		switch {
		case tc.wantErr == "" && (err != nil || r.Target.ID != "m_2"):
			t.Errorf("max_age %s: %v, reply %+v", tc.maxAge, err, r)
		case tc.wantErr != "" && (!errors.As(err, &ce) || !ce.BadInput || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("max_age %s: %v, want a bad-input error with %q", tc.maxAge, err, tc.wantErr)
		}
	}
}

// TestConversationReplyTargetsLikePoll: the API answers the same message the
// poll would (intake.ConversationItem), also when the newest message has no
// from: two targets for one person would mean two replies.
func TestConversationReplyTargetsLikePoll(t *testing.T) {
	now := time.Now()
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: "100"}, {ID: "7001"}},
		Messages: []graph.Message{
			{ID: "m_3", Message: "and one more", CreatedTime: graph.Time{Time: now.Add(-time.Minute)}},
			{ID: "m_2", Message: "hi?", From: &graph.User{ID: "7001"}, CreatedTime: graph.Time{Time: now.Add(-time.Hour)}},
		}}
	page := &config.Page{ID: "100", AccessToken: "tok", MaxAge: 168 * time.Hour}
	var r tasks.Reply
	if err := api.ConversationReply(context.Background(), oneConversation{conv}, page, "t_1", now, &r); err != nil {
		t.Fatal(err)
	}
	it, reason := intake.ConversationItem(page.ID, conv)
	if reason != "" || r.Target != it.Target {
		t.Errorf("API targets %s, the poll %s (%s)", r.Target, it.Target, reason)
	}
}
