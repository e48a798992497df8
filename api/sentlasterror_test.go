package api_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/tasks"
)

// TestSentReplyHasNoLastError: a reply put back once (the Page's rate used
// up) and then sent reads as sent with no last_error. Before, GET showed the
// put-back's message beside "state":"sent", which reads as a failure.
func TestSentReplyHasNoLastError(t *testing.T) {
	e := newEnv(t, nil)
	comment := e.sb.AllComments(e.page.ID)[0].ID
	if status, m := e.do(t, "POST", "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, comment)); status != 202 {
		t.Fatalf("enqueue: %d %v", status, m)
	}
	target := tasks.Target{Kind: tasks.KindComment, ID: comment}
	var runs atomic.Int32
	srv := asynq.NewServer(e.opt, asynq.Config{Concurrency: 1, Queues: map[string]int{tasks.QueueReplies: 1},
		RetryDelayFunc: func(int, error, *asynq.Task) time.Duration { return 0 }, Logger: quietAsynq{}})
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeReply, func(ctx context.Context, _ *asynq.Task) error {
		if runs.Add(1) == 1 {
			return errors.New("put back for 1s: page rate used up")
		}
		return e.ledger.MarkSent(ctx, e.page.ID, target, "m_sent")
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	deadline := time.Now().Add(15 * time.Second)
	for {
		status, m := e.do(t, "GET", "/v1/replies/"+target.String(), testToken, "")
		if status == 200 && m["state"] == "sent" && runs.Load() >= 2 {
			if le, ok := m["last_error"]; ok {
				t.Fatalf("sent reply with last_error %v: %v", le, m)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not sent: %d %v (runs %d)", status, m, runs.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// quietAsynq drops asynq's own log lines.
type quietAsynq struct{}

func (quietAsynq) Debug(...any) {}
func (quietAsynq) Info(...any)  {}
func (quietAsynq) Warn(...any)  {}
func (quietAsynq) Error(...any) {}
func (quietAsynq) Fatal(...any) {}
