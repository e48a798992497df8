package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// TestRepliesAnswerShape: a reply alone is answered 202 {"id","state"} with
// its reply id and state, and a 409 says the same of the reply queued; the
// per-item "status" of a batch is not part of a single answer.
func TestRepliesAnswerShape(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body)
	if st != http.StatusAccepted || m["id"] != "comment:"+c || m["state"] != "pending" {
		t.Fatalf("reply: %d %v, want 202 id comment:%s state pending", st, m, c)
	}
	if _, ok := m["status"]; ok {
		t.Errorf("single answer %v holds a status member", m)
	}
	st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, body)
	if st != http.StatusConflict || m["id"] != "comment:"+c || m["state"] != "pending" {
		t.Fatalf("again: %d %v, want 409 id comment:%s state pending", st, m, c)
	}
	if _, ok := m["status"]; ok {
		t.Errorf("single 409 answer %v holds a status member", m)
	}
}

// TestRepliesTextTrimmed: the text queued is the text checked, white space
// around it trimmed, and the reply is queued as the API's (its source, the
// label of the replies it sends).
func TestRepliesTextTrimmed(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"  hi there \n"}`, e.page.ID, c))
	if st != http.StatusAccepted {
		t.Fatalf("%d %v", st, m)
	}
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	ti, err := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+c)
	if err != nil {
		t.Fatal(err)
	}
	r, err := tasks.DecodeReply(ti.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != "hi there" || r.Source != tasks.SourceAPI {
		t.Errorf("queued text %q from %q, want %q from %q", r.Text, r.Source, "hi there", tasks.SourceAPI)
	}
}

// TestRepliesFieldsNamed: every 400 names its field, prefixed with the item
// in a batch, and a batch of exactly MaxBatch replies is taken.
func TestRepliesFieldsNamed(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"comment_id":%q,"text":"hi"}`, c)); st != 400 || errField(m) != "page_id" {
		t.Errorf("no page_id: %d %v, want 400 naming page_id", st, m)
	}
	b := fmt.Sprintf(`{"replies":[{"page_id":1,"comment_id":%q,"text":"a"},{"page_id":%q,"comment_id":%q,"text":"b","nope":true},{"comment_id":%q,"text":"c"}]}`,
		c, e.page.ID, c, c)
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, b)
	if st != http.StatusMultiStatus {
		t.Fatalf("%d %v", st, m)
	}
	res, _ := m["results"].([]any)
	for i, want := range []string{"replies[0].page_id", "replies[1].nope", "replies[2].page_id"} {
		r, _ := res[i].(map[string]any)
		if r["status"] != 400.0 || errField(r) != want {
			t.Errorf("item %d: %v, want 400 naming %s", i, r, want)
		}
	}
	many := `{"replies":[` + strings.TrimSuffix(strings.Repeat(`{},`, api.MaxBatch), ",") + `]}`
	st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, many)
	if res, _ := m["results"].([]any); st != http.StatusMultiStatus || len(res) != api.MaxBatch {
		t.Errorf("batch of exactly %d: %d, %d results; want 207 with one result each", api.MaxBatch, st, len(res))
	}
}

// TestGetReplyStates: GET /v1/replies/{id} reports a scheduled reply with
// its next attempt, an archived one with its attempt counted, one the ledger
// failed for good with why, and one sent with when; a second POST of the
// scheduled reply is a 409 in its state.
func TestGetReplyStates(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	cs := e.sb.AllComments(e.page.ID)
	client := asynq.NewClient(e.opt)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	target := func(c string) tasks.Target {
		tg, err := tasks.ParseTarget("comment:" + c)
		if err != nil {
			t.Fatal(err)
		}
		return tg
	}

	// Scheduled: a reply task due in an hour.
	sched := tasks.Reply{PageID: e.page.ID, Target: target(cs[0].ID), Text: "hi", Source: tasks.SourceAPI, EnqueuedAt: time.Now().UnixMilli()}
	payload, err := json.Marshal(sched)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, payload), append(tasks.ReplyTaskOptions(&sched, 3, time.Hour), asynq.ProcessIn(time.Hour))...); err != nil {
		t.Fatal(err)
	}
	st, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+cs[0].ID, testToken, "")
	if st != 200 || m["state"] != "scheduled" || m["next_attempt_at"] == nil || m["attempts"] != 0.0 {
		t.Errorf("scheduled: %d %v, want state scheduled, next_attempt_at, 0 attempts", st, m)
	}
	st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, cs[0].ID))
	if st != http.StatusConflict || m["state"] != "scheduled" {
		t.Errorf("reply to a scheduled target: %d %v, want 409 state scheduled", st, m)
	}

	// Archived: its one attempt counted.
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, cs[1].ID)); st != 202 {
		t.Fatalf("%d %v", st, m)
	}
	if err := insp.ArchiveTask(tasks.QueueReplies, "comment:"+cs[1].ID); err != nil {
		t.Fatal(err)
	}
	st, m = e.do(t, http.MethodGet, "/v1/replies/comment:"+cs[1].ID, testToken, "")
	if st != 200 || m["state"] != "archived" || m["attempts"] != 1.0 || m["next_attempt_at"] != nil {
		t.Errorf("archived: %d %v, want state archived, 1 attempt", st, m)
	}

	// Failed for good in the ledger, no task.
	if err := e.ledger.MarkFailed(ctx, e.page.ID, target(cs[2].ID), "code 10903: too old"); err != nil {
		t.Fatal(err)
	}
	st, m = e.do(t, http.MethodGet, "/v1/replies/comment:"+cs[2].ID, testToken, "")
	if st != 200 || m["state"] != "archived" || m["last_error"] != "code 10903: too old" || m["attempts"] != 1.0 {
		t.Errorf("failed for good: %d %v, want state archived, the reason, 1 attempt", st, m)
	}

	// Sent, no task.
	if err := e.ledger.MarkSent(ctx, e.page.ID, target(cs[3].ID), "m_sent"); err != nil {
		t.Fatal(err)
	}
	st, m = e.do(t, http.MethodGet, "/v1/replies/comment:"+cs[3].ID, testToken, "")
	if st != 200 || m["state"] != "sent" || m["message_id"] != "m_sent" || m["sent_at"] == nil || m["attempts"] != 1.0 {
		t.Errorf("sent: %d %v, want state sent, message id, sent_at, 1 attempt", st, m)
	}
}

// TestGetReplyAnyPage: with several Pages configured, a reply whose task is
// gone is found in the ledger of whichever Page it is on.
func TestGetReplyAnyPage(t *testing.T) {
	const second = "987654321"
	e := newEnv(t, func(p *api.Params) {
		p.Pages = append(p.Pages, config.Page{ID: second, AccessToken: "tok2"})
	})
	tg, err := tasks.ParseTarget("comment:55_66")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ledger.MarkSent(context.Background(), second, tg, "m_2"); err != nil {
		t.Fatal(err)
	}
	st, m := e.do(t, http.MethodGet, "/v1/replies/comment:55_66", testToken, "")
	if st != 200 || m["state"] != "sent" || m["page_id"] != second {
		t.Errorf("reply sent on the second Page: %d %v, want 200 sent on %s", st, m, second)
	}
}

// TestRepliesLongFieldNameClipped: an unknown member's name longer than 7
// bytes is not named back (unknownField: whether it held a secret would
// show otherwise), so a client cannot make the answer (or the log) echo a
// name of any length either.
func TestRepliesLongFieldNameClipped(t *testing.T) {
	e := newEnv(t, nil)
	long := strings.Repeat("n", 100)
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":"1_2","text":"hi",%q:1}`, e.page.ID, long))
	if st != http.StatusBadRequest || errField(m) != "" || strings.Contains(errMessage(m), long[:8]) || !strings.HasPrefix(errMessage(m), "unknown field") {
		t.Errorf("unknown field of 100 bytes: %d %v, want 400 not naming it", st, m)
	}
}
