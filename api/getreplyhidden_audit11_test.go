package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestGetReplyCompletedOnDroppedMark_audit11: a reply's task that asynq
// completed on a hide mark (the worker sent nothing) must not read "sent"
// once the mark is gone: dropped by the Page's unhide it is "skipped", with
// why, and left as a doubt (the mark had taken a claim's place) it is
// "unknown". While the mark is there it reads as before: archived, hidden by
// the Page. Before the fix both read "sent", asynq's completed.
func TestGetReplyCompletedOnDroppedMark_audit11(t *testing.T) {
	// The Page has skip_hidden, as the webhook that marks has it (without
	// it, the mark reads as one written before it was turned off).
	e := newEnv(t, func(p *api.Params) { p.Pages[0].SkipHidden = true })
	ctx := context.Background()
	cs := e.sb.AllComments(e.page.ID)
	skipped, doubt := cs[0].ID, cs[1].ID
	for _, c := range []string{skipped, doubt} {
		if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)); st != http.StatusAccepted {
			t.Fatalf("reply: %d %v", st, m)
		}
	}
	// The hide of a comment whose reply waits, and the hide of one whose
	// reply a worker had claimed (it may have sent, then died).
	if ok, err := e.ledger.MarkHidden(ctx, e.page.ID, skipped, time.Time{}); err != nil || !ok {
		t.Fatalf("hide: %v %v", ok, err)
	}
	dt := tasks.Target{Kind: tasks.KindComment, ID: doubt}
	if res, err := e.ledger.Reserve(ctx, e.page.ID, dt, "dead-worker", 200*time.Millisecond, tasks.Limit{}); err != nil || res.Outcome != tasks.ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	if ok, err := e.ledger.MarkHidden(ctx, e.page.ID, doubt, time.Time{}); err != nil || !ok {
		t.Fatalf("hide of a claim: %v %v", ok, err)
	}

	w := completeHidden(t, e, skipped, doubt)
	t.Cleanup(func() { w.Shutdown(context.Background()) })
	if n := len(e.sb.Sends()); n != 0 {
		t.Fatalf("%d replies sent to hidden comments", n)
	}
	get := func(c string) map[string]any {
		t.Helper()
		st, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+c, testToken, "")
		if st != http.StatusOK {
			t.Fatalf("GET %s: %d %v", c, st, m)
		}
		return m
	}
	for _, c := range []string{skipped, doubt} {
		if m := get(c); m["state"] != "archived" || m["last_error"] != tasks.HiddenReason {
			t.Errorf("marked hidden: %v, want archived, %q", m, tasks.HiddenReason)
		}
	}

	for _, c := range []string{skipped, doubt} {
		if ok, err := e.ledger.UnmarkHidden(ctx, e.page.ID, c, time.Time{}); err != nil || !ok {
			t.Fatalf("unhide %s: %v %v", c, ok, err)
		}
	}
	m := get(skipped)
	if m["state"] != "skipped" || !strings.Contains(fmt.Sprint(m["last_error"]), "shown it again") || m["message_id"] != nil || m["sent_at"] != nil {
		t.Errorf("completed on a hide the unhide dropped: %v, want skipped, saying it was hidden and shown again, no message_id or sent_at", m)
	}
	m = get(doubt)
	if m["state"] != "unknown" || !strings.Contains(fmt.Sprint(m["last_error"]), "asks Graph") || m["message_id"] != nil || m["sent_at"] != nil {
		t.Errorf("completed on a hide the unhide left a doubt of: %v, want unknown, no message_id or sent_at", m)
	}
}

// completeHidden starts a worker for e's Page with skip_hidden and waits
// until the tasks of the replies to comments (each hidden, so none sent)
// are completed; the caller shuts it down.
func completeHidden(t *testing.T, e *env, comments ...string) *worker.Worker {
	t.Helper()
	gs := httptest.NewServer(e.sb)
	t.Cleanup(gs.Close)
	rdb := tasks.NewRedisClient(e.opt)
	t.Cleanup(func() { _ = rdb.Close() })
	w := worker.New(worker.Params{
		Redis: e.opt, Ledger: tasks.NewLedger(rdb, tasks.LedgerOptions{}), Concurrency: 2, MaxRetry: 3,
		Graph:        graph.New(graph.Config{BaseURL: gs.URL, Timeout: 2 * time.Second}),
		Pages:        []config.Page{{ID: e.page.ID, AccessToken: e.page.Token, SkipHidden: true, ReplyTo: []string{config.ReplyComments}}},
		GraphTimeout: 2 * time.Second, SendSettle: time.Second, ShutdownTimeout: 3 * time.Second,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	for _, c := range comments {
		deadline := time.Now().Add(20 * time.Second)
		for {
			info, err := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+c)
			if err == nil && info.State == asynq.TaskStateCompleted {
				break
			}
			if time.Now().After(deadline) {
				w.Shutdown(context.Background())
				t.Fatalf("task of %s not completed: %+v %v", c, info, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return w
}
