package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/tasks"
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
	w := completeHidden(t, e, c)
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
