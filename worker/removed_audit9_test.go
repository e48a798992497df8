package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestCommentRemovedAfterQueuedNotSent_audit9: a comment queued by the poll
// and removed (deleted by its writer or by the Page) before its reply goes
// out gets no send call, on a Page without skip_hidden too: Meta's feed
// change with verb remove, through the API's webhook, marks it in the
// ledger, and the worker's reservation finds the mark: the task completes
// (not archived: nothing failed), counted as skipped gone. Before, the
// remove was ignored, the worker sent, Graph refused the deleted comment
// (code 100, subcode 33: a send call of the Page's budget spent), and the
// reply was archived as failed for good, for an operator to look at.
//
// The delivery is the shape Meta documents for a comment's removal:
// developers.facebook.com/docs/graph-api/webhooks/reference/page/#feed
// lists verb "remove" and the value fields item, comment_id, post_id,
// parent_id, from{id,name}; restfb's fixture of a real delivery
// (github.com/restfb/restfb, src/test/resources/json/webhooks/
// feed-comment-remove-25.json) is
//
//	{"item":"comment","verb":"remove","comment_id":"905578656204626_905579239537901",
//	 "post_id":"1234567890321_905578656204626","parent_id":"1234567890321_905578656204626",
//	 "from":{"name":"John Doe","id":"1234567890321"}}
//
// with no message and no created_time, and a from that is the Page's own
// id there (whether it names the writer or the remover is not said), so
// the mark does not depend on from.
func TestCommentRemovedAfterQueuedNotSent_audit9(t *testing.T) {
	f := newHiddenFixture(t, 8821, false)
	h, ctx := f.h, context.Background()
	rep, err := f.poller(nil).Poll(ctx, f.page.ID, false)
	if err != nil || rep.Enqueued() != len(f.replies) {
		t.Fatalf("poll: %d queued, %v; want %d", rep.Enqueued(), err, len(f.replies))
	}
	removed := f.replies[0]
	if !h.sb.DeleteComment(removed.Target.ID) {
		t.Fatal("DeleteComment: unknown comment")
	}
	post, _, _ := strings.Cut(removed.Target.ID, "_")
	post = f.page.ID + "_" + post
	signedWebhook(t, h, f.page)(`{"field":"feed","value":{` +
		`"item":"comment","verb":"remove","comment_id":"` + removed.Target.ID + `","post_id":"` + post + `","parent_id":"` + post + `",` +
		`"from":{"name":"The Page","id":"` + f.page.ID + `"}}}`)

	m := metrics.New()
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Metrics = m })
	h.waitSent(t, f.replies[1:], 20*time.Second)
	ti := h.waitTask(t, removed, 20*time.Second, nil, asynq.TaskStateCompleted, asynq.TaskStateArchived)
	if ti.State != asynq.TaskStateCompleted {
		t.Errorf("removed comment's reply %s (%s), want completed: nothing failed", ti.State, ti.LastErr)
	}
	if n := len(h.sb.CallLog(f.page.ID)); n != len(f.replies)-1 {
		t.Errorf("%d send calls, want %d: none for the removed comment", n, len(f.replies)-1)
	}
	h.checkExactlyOnce(t, f.replies[1:])
	if got := counterValues(t, m.PollSkipped, f.page.ID)["gone"]; got != 1 {
		t.Errorf("pagereply_skipped_total{reason=gone} %v, want 1", got)
	}
	if e, err := h.ledger.Get(ctx, f.page.ID, removed.Target); err != nil || e.Status != tasks.StatusFailed || e.Reason != tasks.RemovedReason {
		t.Errorf("removed comment's entry %+v, %v; want failed, %q", e, err, tasks.RemovedReason)
	}
	// A remove of a comment whose reply was sent changes nothing.
	if ok, err := h.ledger.MarkRemoved(ctx, f.page.ID, f.replies[1].Target); err != nil || ok {
		t.Errorf("remove of a sent reply's comment: marked %v, %v; want left as it was", ok, err)
	}
}
