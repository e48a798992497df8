package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestAPIRepliesChecked: replies from the HTTP API name their target, and the
// worker reads it before sending, as the poll and the webhook do: a reply to
// the Page's own comment, to a comment that cannot be replied to privately,
// or to one older than the Page's max_age is archived with the reason and
// recorded as failed; an eligible one is sent.
func TestAPIRepliesChecked(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 67})
	page := h.pages[0].ID
	h.pages[0].MaxAge = 48 * time.Hour
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "A post", time.Now().Add(-96*time.Hour))
	visitor := func(id string) sandbox.User { return sandbox.User{ID: id, Name: "Visitor " + id} }
	ok := h.sb.AddComment(post, visitor("5100001"), "hello", time.Now().Add(-time.Hour))
	own := h.sb.AddComment(post, sandbox.User{ID: page}, "thanks all", time.Now().Add(-time.Hour))
	closed := h.sb.AddComment(post, visitor("5100002"), "hello", time.Now().Add(-time.Hour))
	h.sb.SetCanReplyPrivately(closed, false)
	old := h.sb.AddComment(post, visitor("5100003"), "hello", time.Now().Add(-72*time.Hour))
	api := func(id string) tasks.Reply {
		return tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks!", Source: tasks.SourceAPI}
	}
	h.startWorker(t, 4)
	ctx := context.Background()
	for _, id := range []string{ok, own, closed, old} {
		if o, _, err := h.enq.Enqueue(ctx, api(id)); err != nil || o != tasks.Enqueued {
			t.Fatalf("enqueue %s: %v %v", id, o, err)
		}
	}
	h.waitSent(t, []tasks.Reply{api(ok)}, 30*time.Second)
	for id, reason := range map[string]string{own: "own", closed: "cannot_reply", old: "too_old"} {
		ti := h.waitArchived(t, api(id), 30*time.Second)
		if !strings.Contains(ti.LastErr, reason) {
			t.Errorf("%s archived with %q, want the reason %s", id, ti.LastErr, reason)
		}
		es, err := h.ledger.GetMany(ctx, page, []tasks.Target{api(id).Target})
		if err != nil || es[0].Status != tasks.StatusFailed || !strings.Contains(es[0].Reason, reason) {
			t.Errorf("%s: ledger entry %+v %v, want failed with %s", id, es, err, reason)
		}
		if n := h.sb.SendCount(id); n != 0 {
			t.Errorf("%s got %d replies, want none", id, n)
		}
	}
	if n := h.sb.SendCount(ok); n != 1 {
		t.Errorf("eligible comment got %d replies, want 1", n)
	}
}
