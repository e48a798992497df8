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

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestConversationAnsweredIsRecorded_audit9: a conversation reply asked for
// after someone at the Page answered the person's latest message is a 409
// with state sent, and the answer is recorded as the worker records one it
// finds (worker.RecordAnswered): GET /v1/replies/message:<id> answers 200,
// sent, with the Page's message id (it answered 404 against the 409's
// "sent"), asking again is the same 409, and the person's record takes their
// earlier messages as answered by the Page's message.
func TestConversationAnsweredIsRecorded_audit9(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Now()
	person := sandbox.User{ID: "99000002", Name: "Bea"}
	_, earlier := e.sb.AddMessage(e.page.ID, person, "hello?", now.Add(-20*time.Minute))
	conv, mid := e.sb.AddMessage(e.page.ID, person, "do you ship to Spain?", now.Add(-10*time.Minute))
	answer := e.sb.AddPageMessage(e.page.ID, person.ID, "Yes we do!", now.Add(-5*time.Minute))
	if conv == "" || earlier == "" || answer == "" {
		t.Fatal("sandbox: conversation not made")
	}
	body := fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"Thanks for your message!"}`, e.page.ID, conv)
	for i := range 2 {
		status, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body)
		if status != http.StatusConflict || m["id"] != "message:"+mid || m["state"] != "sent" || !strings.Contains(fmt.Sprint(m["error"]), "answered") {
			t.Fatalf("POST %d: %d %v; want 409 sent for message:%s", i+1, status, m, mid)
		}
		for _, q := range []string{"", "?page_id=" + e.page.ID} {
			status, m = e.do(t, http.MethodGet, "/v1/replies/message:"+mid+q, testToken, "")
			if status != http.StatusOK || m["state"] != "sent" || m["message_id"] != answer || m["page_id"] != e.page.ID {
				t.Fatalf("GET%s after POST %d: %d %v; want 200 sent with the Page's message %s", q, i+1, status, m, answer)
			}
		}
	}
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if _, err := insp.GetTaskInfo(tasks.QueueReplies, "message:"+mid); !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Fatalf("a task was queued for the answered message: %v", err)
	}
	// A reply to the person's earlier message (queued by a poll before the
	// answer, say) finds the person answered by the Page's message.
	pc, err := e.ledger.PersonClaim(context.Background(), e.page.ID, tasks.Person{ID: person.ID},
		tasks.Target{Kind: tasks.KindMessage, ID: earlier}, "tok-audit9", now.Add(-20*time.Minute), 24*time.Hour)
	if err != nil || pc.Outcome != tasks.PersonAnswered || pc.MessageID != answer {
		t.Fatalf("person claim for the earlier message: %+v %v; want answered by %s", pc, err, answer)
	}
	// The person writes again: that message is unanswered, and gets its reply.
	_, mid2 := e.sb.AddMessage(e.page.ID, person, "and to Portugal?", now)
	if status, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body); status != http.StatusAccepted || m["id"] != "message:"+mid2 {
		t.Fatalf("new message: %d %v; want 202 for message:%s", status, m, mid2)
	}
}
