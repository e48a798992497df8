package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestItemOfSettledTargetNotRead_audit12: an unhide queues a webhook item
// for every comment shown again, also for one long answered (a moderator
// showing old comments in bulk), and Meta delivers items again after their
// TaskIDs are gone. Each item read its comment from Graph, taking a slot of
// the Page's reads, before the intake found the ledger had it. An item of a
// target the ledger has settled must make no Graph call; one of a target
// the ledger has not must still be read and answered.
func TestItemOfSettledTargetNotRead_audit12(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1207})
	pages := pollPages(h)
	pages[0].DefaultText = "Thanks!"
	page := pages[0]
	post := h.sb.AddPost(page.ID, sandbox.User{ID: page.ID}, "A post", time.Now().Add(-time.Hour))
	answered := h.sb.AddComment(post, sandbox.User{ID: "77011", Name: "Ann Answered"}, "hello", time.Now().Add(-2*time.Minute))
	fresh := h.sb.AddComment(post, sandbox.User{ID: "77012", Name: "Bob Fresh"}, "hi", time.Now().Add(-time.Minute))
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()

	// The answered comment's reply, sent through the reply path.
	h.startPollingWorker(t, []config.Page{page}, pl)
	r := tasks.Reply{PageID: page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: answered}, Text: "Thanks!"}
	if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{r}, 20*time.Second)
	if e, err := h.ledger.Get(ctx, page.ID, r.Target); err != nil || e.Status != tasks.StatusSent {
		t.Fatalf("ledger entry of the answered comment: %+v %v, want sent", e, err)
	}

	before := h.sb.Calls()[graph.EndpointObject]
	if err := processItem(t, pl, tasks.WebhookItem{PageID: page.ID, Kind: tasks.KindComment, ID: answered, PostID: post}); err != nil {
		t.Fatalf("item of the answered comment: %v", err)
	}
	if got := h.sb.Calls()[graph.EndpointObject] - before; got != 0 {
		t.Errorf("the item of a comment the ledger has sent made %d Graph reads, want none", got)
	}

	if err := processItem(t, pl, tasks.WebhookItem{PageID: page.ID, Kind: tasks.KindComment, ID: fresh, PostID: post}); err != nil {
		t.Fatalf("item of the fresh comment: %v", err)
	}
	if got := h.sb.Calls()[graph.EndpointObject] - before; got == 0 {
		t.Errorf("the item of a comment the ledger lacks made no Graph read")
	}
	h.waitSent(t, []tasks.Reply{{PageID: page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: fresh}}}, 20*time.Second)
	if n := h.sb.SendCount(answered); n != 1 {
		t.Errorf("the answered comment got %d replies, want 1", n)
	}
}
