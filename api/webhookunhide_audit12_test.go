package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestUnhideQueuesCommentAgain_audit12: on a Page with skip_hidden, the
// Page's unhide of a comment it had hidden queues the comment's read again,
// so its reply goes out now: the comment hidden at once (its moderation's
// keyword filter) was skipped by its webhook item, and so was one whose hide
// mark came before its item ran. Before, the unhide
// only dropped the mark, and the reply waited for the next full read (up
// to 6 hours), or never came when the comment's reply window ended first;
// the item of the comment's add, kept 6 hours, took the unhide for a
// redelivery. Each unhide (by its created_time) queues one item; Meta's
// redelivery of it, none.
func TestUnhideQueuesCommentAgain_audit12(t *testing.T) {
	e := skipHiddenWorkerEnv(t)
	ctx := context.Background()
	page := e.pages[0].ID
	post := e.sb.AddPost(page, sandbox.User{}, "A post", time.Now().Add(-time.Hour))
	hiddenAtOnce := e.sb.AddComment(post, sandbox.User{ID: "100000000000077", Name: "Ana Lopez"}, "hello", time.Now())
	hiddenLater := e.sb.AddComment(post, sandbox.User{ID: "100000000000099", Name: "Cleo Ray"}, "hi", time.Now())
	e.sb.SetHidden(hiddenAtOnce, true)
	deliver := func(c, from, verb string, at int64) {
		t.Helper()
		body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[{"field":"feed","value":{"item":"comment","verb":%q,"comment_id":%q,"post_id":%q,"parent_id":%q,"from":{"id":%q},"created_time":%d}}]}]}`,
			page, verb, c, post, post, from, at)
		if code, b := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
			t.Fatalf("%s of %s: status %d (%s), want 200", verb, c, code, b)
		}
	}
	now := time.Now().Unix()
	// The hide before the comment's item runs: the mark stops it.
	deliver(hiddenLater, "100000000000099", "hide", now)
	deliver(hiddenAtOnce, "100000000000077", "add", now)
	deliver(hiddenLater, "100000000000099", "add", now)
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	waitState := func(queue, id string, want asynq.TaskState) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			ti, err := insp.GetTaskInfo(queue, id)
			if err == nil && ti.State == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("task %s: %+v %v; want %v", id, ti, err, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitState(tasks.QueuePolls, "webhook:comment:"+hiddenAtOnce, asynq.TaskStateCompleted)
	waitState(tasks.QueuePolls, "webhook:comment:"+hiddenLater, asynq.TaskStateCompleted)
	if n := len(e.sb.Sends()); n != 0 {
		t.Fatalf("%d replies sent to hidden comments", n)
	}

	e.sb.SetHidden(hiddenAtOnce, false)
	deliver(hiddenAtOnce, "100000000000077", "unhide", now+1)
	deliver(hiddenLater, "100000000000099", "unhide", now+1)
	deliver(hiddenLater, "100000000000099", "unhide", now+1) // Meta's redelivery
	deadline := time.Now().Add(10 * time.Second)
	for (e.sb.SendCount(hiddenAtOnce) == 0 || e.sb.SendCount(hiddenLater) == 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e.sb.SendCount(hiddenAtOnce) != 1 || e.sb.SendCount(hiddenLater) != 1 {
		t.Fatalf("sends after the unhides: hidden at once %d, hidden later %d; want 1 each", e.sb.SendCount(hiddenAtOnce), e.sb.SendCount(hiddenLater))
	}
	if n, err := e.db.Client.Keys(ctx, "asynq:{"+tasks.QueuePolls+"}:t:webhook:*comment:"+hiddenLater).Result(); err != nil || len(n) != 2 {
		t.Errorf("items of %s: %v %v; want 2 (its add's, its unhide's)", hiddenLater, n, err)
	}
}

// skipHiddenWorkerEnv is a webhook env whose first Page has skip_hidden,
// its webhook writing the Page's hides and unhides (Hidden), and a worker
// running the tasks it queues.
func skipHiddenWorkerEnv(t *testing.T) *webhookEnv {
	t.Helper()
	e := newWebhookEnv(t)
	e.pages[0].SkipHidden = true
	e.srv = httptest.NewServer(api.NewWebhook(api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: e.enq,
		Hidden: e.led, Pages: e.pages}))
	t.Cleanup(e.srv.Close)
	e.startWorker(t)
	return e
}
