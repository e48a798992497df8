package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/pagereply/pagereply/tasks"
)

// TestGetReplyRemovedAfterHide_audit12: a comment the Page hid, then
// removed, is "comment removed" to GET /v1/replies/{id}, and stays so when
// an unhide newer than the hide is delivered late, after the remove: its
// reply's task completes on the mark, no send. Before the fix the first
// read "hidden by the Page", and for the second the unhide dropped the
// mark, and the worker sent to Graph, which refuses a removed comment: the
// task was archived with Graph's error (counted as a failure), and had it
// completed first, GET said the next poll would queue its reply.
func TestGetReplyRemovedAfterHide_audit12(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	cs := e.sb.AllComments(e.page.ID)
	removed, unhidden := cs[0].ID, cs[1].ID
	at := func(s int64) time.Time { return time.Unix(1767000000+s, 0) }
	for _, c := range []string{removed, unhidden} {
		if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)); st != http.StatusAccepted {
			t.Fatalf("reply: %d %v", st, m)
		}
		if ok, err := e.ledger.MarkHidden(ctx, e.page.ID, c, at(10)); err != nil || !ok {
			t.Fatalf("hide %s: %v %v", c, ok, err)
		}
		if !e.sb.DeleteComment(c) {
			t.Fatalf("delete %s in the sandbox", c)
		}
		if _, err := e.ledger.MarkRemoved(ctx, e.page.ID, tasks.Target{Kind: tasks.KindComment, ID: c}); err != nil {
			t.Fatalf("remove %s: %v", c, err)
		}
	}
	// Meta's redelivery of an unhide newer than the hide, after the remove.
	if _, err := e.ledger.UnmarkHidden(ctx, e.page.ID, unhidden, at(20)); err != nil {
		t.Fatalf("unhide: %v", err)
	}

	w := completeHidden(t, e, removed, unhidden)
	t.Cleanup(func() { w.Shutdown(context.Background()) })
	if n := len(e.sb.Sends()); n != 0 {
		t.Fatalf("%d replies sent to removed comments", n)
	}
	for _, c := range []string{removed, unhidden} {
		st, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+c, testToken, "")
		if st != http.StatusOK || m["state"] != "archived" || m["last_error"] != tasks.RemovedReason {
			t.Errorf("GET %s: %d %v; want archived, %q", c, st, m, tasks.RemovedReason)
		}
	}
}
