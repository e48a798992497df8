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

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestConflictCompletedNotSent_audit11: a reply asked again while its
// target's task is completed but the ledger has no send (a task that
// completed on a hide mark; the target claimed since) was answered 409
// "sent", asynq's completed, where GET /v1/replies/{id} answers from the
// ledger. The 409's state must be GET's.
func TestConflictCompletedNotSent_audit11(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	c := e.sb.AllComments(e.page.ID)[0].ID
	body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body); st != http.StatusAccepted {
		t.Fatalf("reply: %d %v", st, m)
	}
	if ok, err := e.ledger.MarkHidden(ctx, e.page.ID, c, time.Time{}); err != nil || !ok {
		t.Fatalf("hide: %v %v", ok, err)
	}
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
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+c)
		if err == nil && info.State == asynq.TaskStateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("task not completed: %+v %v", info, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	w.Shutdown(context.Background())
	// The unhide drops the mark; a worker (of a reply queued for it by
	// another producer) claims the target.
	if ok, err := e.ledger.UnmarkHidden(ctx, e.page.ID, c, time.Time{}); err != nil || !ok {
		t.Fatalf("unhide: %v %v", ok, err)
	}
	target := tasks.Target{Kind: tasks.KindComment, ID: c}
	if res, err := e.ledger.Reserve(ctx, e.page.ID, target, "other-worker", time.Minute, tasks.Limit{}); err != nil || res.Outcome != tasks.ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	if n := len(e.sb.Sends()); n != 0 {
		t.Fatalf("%d replies sent", n)
	}
	_, got := e.do(t, http.MethodGet, "/v1/replies/comment:"+c, testToken, "")
	st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body)
	if st != http.StatusConflict || m["state"] != got["state"] || m["state"] == "sent" || strings.Contains(errMessage(m), "it was sent") {
		t.Errorf("asked again: %d %v, want 409 with GET's state %v (nothing was sent)", st, m, got["state"])
	}
}
