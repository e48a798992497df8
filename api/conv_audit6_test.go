package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestConversationReplyAnsweredByPage_audit6: a conversation whose person's
// latest message someone at the Page answered already (in the Page's inbox,
// more than Messenger's instant-reply 10 s after it) gets no reply from the
// API: ConversationReply says Answered, naming the message, as the poll
// skips it. Messenger's instant reply is no answer, a group thread is no
// conversation to answer, and a message past the window is refused as such
// even when answered.
func TestConversationReplyAnsweredByPage_audit6(t *testing.T) {
	now := time.Now()
	pg, ana, bob := graph.User{ID: "100"}, graph.User{ID: "7001"}, graph.User{ID: "7002"}
	msg := func(id string, from *graph.User, ago time.Duration) graph.Message {
		return graph.Message{ID: id, Message: "hi " + id, From: from, CreatedTime: graph.Time{Time: now.Add(-ago)}}
	}
	page := &config.Page{ID: "100", AccessToken: "tok"}
	for _, tc := range []struct {
		name                 string
		parts                []graph.User
		msgs                 []graph.Message
		answered, bad        bool
		wantTarget, wantPSID string
		wantMsg              string
	}{
		{name: "answered in the inbox", parts: []graph.User{pg, ana}, msgs: []graph.Message{msg("m_3", &pg, time.Hour), msg("m_2", &ana, 2*time.Hour)},
			answered: true, wantTarget: "message:m_2", wantMsg: "answered"},
		{name: "instant reply only", parts: []graph.User{pg, ana}, msgs: []graph.Message{msg("m_3", &pg, 2*time.Hour-2*time.Second), msg("m_2", &ana, 2*time.Hour)},
			wantTarget: "message:m_2", wantPSID: "7001"},
		{name: "wrote again after the answer", parts: []graph.User{pg, ana}, msgs: []graph.Message{msg("m_4", &ana, time.Minute), msg("m_3", &pg, time.Hour), msg("m_2", &ana, 2*time.Hour)},
			wantTarget: "message:m_4", wantPSID: "7001"},
		{name: "group thread", parts: []graph.User{pg, ana, bob}, msgs: []graph.Message{msg("m_2", &bob, time.Hour)},
			bad: true, wantMsg: "more than one participant"},
		{name: "answered past the window", parts: []graph.User{pg, ana}, msgs: []graph.Message{msg("m_3", &pg, 25*time.Hour), msg("m_2", &ana, 26*time.Hour)},
			bad: true, wantMsg: "older than 24 hours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r tasks.Reply
			err := api.ConversationReply(context.Background(), oneConversation{graph.Conversation{ID: "t_1", Participants: tc.parts, Messages: tc.msgs}}, page, "t_1", now, &r)
			var ce *api.ConversationError
			switch {
			case tc.answered || tc.bad:
				if !errors.As(err, &ce) || ce.Answered != tc.answered || ce.BadInput != tc.bad || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("err %v (%+v), reply %+v; want answered %v, bad input %v, with %q", err, ce, r, tc.answered, tc.bad, tc.wantMsg)
				}
				if tc.answered && r.Target.String() != tc.wantTarget {
					t.Fatalf("answered names %s, want %s", r.Target, tc.wantTarget)
				}
			case err != nil || r.Target.String() != tc.wantTarget || r.PSID != tc.wantPSID || r.ConversationID != "t_1":
				t.Fatalf("err %v, reply %+v; want target %s to %s", err, r, tc.wantTarget, tc.wantPSID)
			}
		})
	}
}

// TestConversationReplyAnsweredIs409_audit6: over HTTP, a reply to a
// conversation the Page answered already is a 409 naming the person's
// message (nothing to do, as for a target already sent), not a 202 that
// sends the person a second answer; nothing is queued.
func TestConversationReplyAnsweredIs409_audit6(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Now()
	person := sandbox.User{ID: "99000001", Name: "Ana"}
	conv, mid := e.sb.AddMessage(e.page.ID, person, "do you ship to Spain?", now.Add(-10*time.Minute))
	if conv == "" || e.sb.AddPageMessage(e.page.ID, person.ID, "Yes we do!", now.Add(-5*time.Minute)) == "" {
		t.Fatal("sandbox: conversation not made")
	}
	body := fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"Thanks for your message!"}`, e.page.ID, conv)
	status, m := e.do(t, "POST", "/v1/replies", testToken, body)
	if status != http.StatusConflict || m["id"] != "message:"+mid || !strings.Contains(fmt.Sprint(m["error"]), "answered") {
		t.Fatalf("answered conversation: %d %v; want 409 for message:%s", status, m, mid)
	}
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if _, err := insp.GetTaskInfo(tasks.QueueReplies, "message:"+mid); !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Fatalf("a task was queued for the answered message: %v", err)
	}
	// The person writes again: that message is unanswered, and gets its reply.
	_, mid2 := e.sb.AddMessage(e.page.ID, person, "and to Portugal?", now)
	status, m = e.do(t, "POST", "/v1/replies", testToken, body)
	if status != http.StatusAccepted || m["id"] != "message:"+mid2 {
		t.Fatalf("new message: %d %v; want 202 for message:%s", status, m, mid2)
	}
}
