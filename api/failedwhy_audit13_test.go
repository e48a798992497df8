package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/tasks"
)

// TestReplyFailedForGoodSaysWhy_audit13: POST /v1/replies for a target the
// ledger has failed for good answers 409 with the ledger's reason (a comment
// the Page hid, one removed, one Graph refused), alone and in a batch. Before
// the fix every such 409 said "Graph refused it for good", also for a
// comment the Page hid or its writer removed, which Graph never saw.
func TestReplyFailedForGoodSaysWhy_audit13(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Pages[0].SkipHidden = true })
	ctx := context.Background()
	cs := e.sb.AllComments(e.page.ID)
	hidden, removed, refused := cs[0].ID, cs[1].ID, cs[2].ID
	if ok, err := e.ledger.MarkHidden(ctx, e.page.ID, hidden, time.Time{}); err != nil || !ok {
		t.Fatalf("hide mark: %v %v", ok, err)
	}
	if ok, err := e.ledger.MarkRemoved(ctx, e.page.ID, tasks.Target{Kind: tasks.KindComment, ID: removed}); err != nil || !ok {
		t.Fatalf("remove mark: %v %v", ok, err)
	}
	const graphWhy = "graph: messages: (#10903) This person cannot receive messages"
	if err := e.ledger.MarkFailed(ctx, e.page.ID, tasks.Target{Kind: tasks.KindComment, ID: refused}, graphWhy); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, why string }{{hidden, tasks.HiddenReason}, {removed, "comment removed"}, {refused, graphWhy}} {
		body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c.id)
		st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body)
		msg := fmt.Sprint(m["error"])
		if st != http.StatusConflict || m["state"] != "archived" || !strings.Contains(msg, c.why) ||
			(c.id != refused && strings.Contains(msg, "Graph refused")) {
			t.Errorf("reply to %s: %d %v; want 409 archived saying %q", c.id, st, m, c.why)
		}
		st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, `{"replies":[`+body+`]}`)
		rs, _ := m["results"].([]any)
		if st != http.StatusMultiStatus || len(rs) != 1 || !strings.Contains(fmt.Sprint(rs[0]), c.why) {
			t.Errorf("batch reply to %s: %d %v; want its 409 saying %q", c.id, st, m, c.why)
		}
	}
}
