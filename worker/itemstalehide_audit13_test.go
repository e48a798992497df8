package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/tasks"
)

// TestItemOfStaleHideMarkRead_audit13: a comment the webhook's hide marked
// while its Page had skip_hidden, on the Page with skip_hidden turned off
// since: its hidden comments are to be answered, and a read finding such a
// comment drops the mark and queues its reply (the intake's stale hide
// mark). A webhook item of it (an add Meta delivered late, an item retried
// across the config change) must be read so, not skipped as a target the
// ledger has settled: for a comment the poll does not reach (a Reel's
// comment without reels, a post past scan_posts), the item is the only
// read there is. Seen failing before the fix: the item made no read, and
// the comment got no reply.
func TestItemOfStaleHideMarkRead_audit13(t *testing.T) {
	f := newHiddenFixture(t, 1313, false)
	h, ctx := f.h, context.Background()
	// The mark the webhook wrote while the Page had skip_hidden.
	if _, err := h.ledger.MarkHidden(ctx, f.page.ID, f.hidden.Target.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	pl := f.poller(nil)
	it := tasks.WebhookItem{PageID: f.page.ID, Kind: tasks.KindComment, ID: f.hidden.Target.ID}
	if err := processItem(t, pl, it); err != nil {
		t.Fatalf("item: %v", err)
	}
	if !queued(t, h, f.hidden.Target.String()) {
		e, _ := h.ledger.Get(ctx, f.page.ID, f.hidden.Target)
		t.Fatalf("the item of a comment with a stale hide mark (skip_hidden off) queued no reply; ledger %+v", e)
	}
}
