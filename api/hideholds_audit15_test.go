package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestHideHoldsOnPageWithoutComments_audit15: a comment reply queued while
// its Page replied to comments, then reply_to changed to posts only (where
// config refuses skip_hidden): the queued reply still runs, and its Page's
// hides hold (tasks.HidesHold). The webhook now records the Page's hide of
// that comment, so the worker finds the mark and sends nothing; an unhide
// drops a mark without queuing a read of the comment (the Page answers no
// comment). Before, the webhook ignored every hide of such a Page ("verb
// hide") and the reply went to the comment the Page had hidden. A Page that
// replies to comments without skip_hidden still ignores hides.
func TestHideHoldsOnPageWithoutComments_audit15(t *testing.T) {
	e := newWebhookEnv(t)
	ctx := context.Background()
	p, other := e.pages[0].ID, e.pages[1].ID
	post := e.sb.AddPost(p, sandbox.User{ID: p}, "A post", time.Now().Add(-time.Hour))
	hidden := e.sb.AddComment(post, sandbox.User{ID: "6400001", Name: "Ana Lopez"}, "hello", time.Now().Add(-time.Minute))
	shown := e.sb.AddComment(post, sandbox.User{ID: "6400002", Name: "Bo Lee"}, "hello", time.Now().Add(-time.Minute))
	opost := e.sb.AddPost(other, sandbox.User{ID: other}, "A post", time.Now().Add(-time.Hour))
	oc := e.sb.AddComment(opost, sandbox.User{ID: "6400003", Name: "Cy Diaz"}, "hello", time.Now().Add(-time.Minute))
	r := tasks.Reply{PageID: p, Target: tasks.Target{Kind: tasks.KindComment, ID: hidden}, Text: "hi", Source: tasks.SourceAPI}
	if o, _, err := e.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("queue the comment's reply: %v %v", o, err)
	}
	// The Page stops replying to comments.
	e.pages[0].ReplyTo = []string{config.ReplyPosts}
	e.srv = httptest.NewServer(api.NewWebhook(api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: e.enq,
		Hidden: e.led, Pages: e.pages, Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}))
	t.Cleanup(e.srv.Close)
	changes := []string{
		commentChange(p, post, hidden, "6400001", "hide"),
		commentChange(p, post, shown, "6400002", "hide"),
		commentChange(p, post, shown, "6400002", "unhide"),
	}
	body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[%s]},{"id":%q,"time":1,"changes":[%s]}]}`,
		p, strings.Join(changes, ","), other, commentChange(other, opost, oc, "6400003", "hide"))
	if code, ans := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
		t.Fatalf("delivery answered %d %s, want 200", code, ans)
	}
	if en, err := e.led.Get(ctx, p, r.Target); err != nil || en.Reason != tasks.HiddenReason {
		t.Errorf("hide of a comment whose reply is queued, on a Page without comments in reply_to: entry %+v, %v; want marked hidden", en, err)
	}
	if en, err := e.led.Get(ctx, p, tasks.Target{Kind: tasks.KindComment, ID: shown}); err != nil || en.Done() {
		t.Errorf("hidden, then shown again: entry %+v, %v; want no mark", en, err)
	}
	if en, err := e.led.Get(ctx, other, tasks.Target{Kind: tasks.KindComment, ID: oc}); err != nil || en.Done() {
		t.Errorf("hide on a Page that answers hidden comments (no skip_hidden): entry %+v, %v; want none", en, err)
	}
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if _, err := insp.GetTaskInfo(tasks.QueuePolls, "webhook:comment:"+shown); err == nil {
		t.Errorf("an unhide on a Page that replies to no comment queued a read of the comment")
	}

	e.startWorker(t) // with the Page's new settings
	id := r.Target.String()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := insp.GetTaskInfo(tasks.QueueReplies, id)
		if err == nil && info.State == asynq.TaskStateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queued reply did not complete: %+v %v", info, err)
		}
	}
	if n := e.sb.SendCount(hidden); n != 0 {
		t.Errorf("the comment the Page hid got %d replies, want none", n)
	}
}
