package api_test

import (
	"context"
	"encoding/json"
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
	"github.com/pagereply/pagereply/tasks"
)

// TestRepliesNullBatchAudit3: {"replies":null} is told that replies must be
// an array, not that it is empty.
func TestRepliesNullBatchAudit3(t *testing.T) {
	e := newEnv(t, nil)
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, `{"replies":null}`)
	if st != http.StatusBadRequest || errField(m) != "replies" || !strings.Contains(errMessage(m), "array") {
		t.Fatalf("replies null: %d %v, want 400 naming replies, saying it must be an array", st, m)
	}
}

// TestRepliesEscapedReplacementCharAudit3: a text holding U+FFFD written as
// the escape \uFFFD (upper-case hex, as many encoders write it) is the
// caller's own character, not half of a surrogate pair: the reply is queued.
func TestRepliesEscapedReplacementCharAudit3(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken,
		fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"odd sign: \uFFFD"}`, e.page.ID, c))
	if st != http.StatusAccepted {
		t.Fatalf("text with an escaped U+FFFD: %d %v, want 202", st, m)
	}
}

// TestBatchItemFieldsNamedAudit3: a batch item's 400s name its field with
// its index once: an id that is no Graph id and a text too long.
func TestBatchItemFieldsNamedAudit3(t *testing.T) {
	e := newEnv(t, nil)
	long := strings.Repeat("a", config.MaxTextRunes+1)
	body := fmt.Sprintf(`{"replies":[{"page_id":%[1]q,"comment_id":"1/../2","text":"hi"},{"page_id":%[1]q,"post_id":"%[1]s_1","text":%[2]q}]}`, e.page.ID, long)
	resp, b := e.request(t, http.MethodPost, "/v1/replies", testToken, body)
	var br api.BatchResponse
	if err := json.Unmarshal(b, &br); err != nil || resp.StatusCode != http.StatusMultiStatus || len(br.Results) != 2 {
		t.Fatalf("answer %d %s (%v)", resp.StatusCode, b, err)
	}
	for i, want := range []string{"replies[0].comment_id", "replies[1].text"} {
		r := br.Results[i]
		if r.Status != http.StatusBadRequest || r.Error == nil || r.Error.Field != want {
			t.Errorf("item %d: %d %+v, want 400 naming %s", i, r.Status, r.Error, want)
		}
	}
}

// TestRepliesSentConflictNamesFieldAudit3: a reply to a target already
// answered is a 409 in state sent that names the target's field, as every
// other 409 does.
func TestRepliesSentConflictNamesFieldAudit3(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	tg, err := tasks.ParseTarget("comment:" + c)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ledger.MarkSent(context.Background(), e.page.ID, tg, "m_1"); err != nil {
		t.Fatal(err)
	}
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c))
	if st != http.StatusConflict || m["state"] != "sent" || errField(m) != "comment_id" {
		t.Errorf("reply to a target already answered: %d %v, want 409 sent naming comment_id", st, m)
	}
}

// TestConversationReplyMessageWithoutIDAudit3: when the person's latest
// message comes without an id there is nothing to answer: a bad-input error
// saying so, not one blaming Graph.
func TestConversationReplyMessageWithoutIDAudit3(t *testing.T) {
	now := time.Now()
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{{ID: "100"}, {ID: "7001"}},
		Messages: []graph.Message{{Message: "hi?", From: &graph.User{ID: "7001"}, CreatedTime: graph.Time{Time: now.Add(-time.Hour)}}}}
	page := &config.Page{ID: "100", AccessToken: "tok"}
	var r tasks.Reply
	err := api.ConversationReply(context.Background(), oneConversation{conv}, page, "t_1", now, &r)
	var ce *api.ConversationError
	if !errors.As(err, &ce) || !ce.BadInput || !strings.Contains(err.Error(), "no recent message") {
		t.Fatalf("latest message without an id: %v, want a bad-input error: no recent message", err)
	}
}

// TestConversationReplyThrottledSaysSoAudit3: a conversation read Graph
// throttles says so (try later), not that Graph did not answer.
func TestConversationReplyThrottledSaysSoAudit3(t *testing.T) {
	var r tasks.Reply
	err := api.ConversationReply(context.Background(), throttledReader{}, &config.Page{ID: "100", AccessToken: "tok"}, "t_1", time.Now(), &r)
	var ce *api.ConversationError
	if !errors.As(err, &ce) || ce.BadInput || !strings.Contains(err.Error(), "throttling") {
		t.Fatalf("throttled read: %v, want Graph's error saying it is throttling the Page", err)
	}
}

// TestConversationReplyRedisAwayAudit3: with Redis away the Page's
// conversation read slot cannot be taken: a 503 saying Redis is unavailable
// (try again), not a 502 blaming Graph, and no read is made.
func TestConversationReplyRedisAwayAudit3(t *testing.T) {
	t.Parallel()
	reader := &countingReader{}
	e, cut := newCutEnv(t, func(p *api.Params) { p.Graph = reader })
	cut.Down()
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"conversation_id":"t_1","text":"hello"}`, e.page.ID))
	if st != http.StatusServiceUnavailable || !strings.Contains(errMessage(m), "Redis unavailable") || errField(m) != "conversation_id" {
		t.Fatalf("conversation reply with Redis away: %d %v, want 503 saying Redis is unavailable", st, m)
	}
	if n := reader.reads.Load(); n != 0 {
		t.Errorf("%d conversation reads made without a read slot", n)
	}
}

// TestRepliesQueuedTaskFinishedAudit3: a second reply to a target whose task
// finished after the ledger was read is a 409 with the state GET
// /v1/replies/{id} gives, not one still queued. Here the ledger is not told
// (the handler records no send): asynq's completed alone is no send (a task
// completes without one on a webhook's mark), so it reads "skipped", as GET
// does, where it read "sent" (audit11). A worker that sent records it in the
// ledger before its task completes, so the 409's ledger read, made after
// asynq's, then reads "sent".
func TestRepliesQueuedTaskFinishedAudit3(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	comment := e.sb.AllComments(e.page.ID)[0].ID
	body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, comment)
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body); st != http.StatusAccepted {
		t.Fatalf("enqueue: %d %v", st, m)
	}
	srv := asynq.NewServer(e.opt, asynq.Config{Concurrency: 1, Queues: map[string]int{tasks.QueueReplies: 1}, Logger: quietAsynq{}})
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeReply, func(context.Context, *asynq.Task) error { return nil })
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if ti, err := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+comment); err == nil && ti.State == asynq.TaskStateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reply task did not complete")
		}
	}
	_, got := e.do(t, http.MethodGet, "/v1/replies/comment:"+comment, testToken, "")
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body)
	if st != http.StatusConflict || m["state"] != got["state"] || m["state"] != "skipped" || strings.Contains(errMessage(m), "queued") || errField(m) != "comment_id" {
		t.Fatalf("reply to a target whose task finished without a send: %d %v, want 409 skipped as GET says (%v), not queued", st, m, got["state"])
	}
}
