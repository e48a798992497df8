package tasks

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
)

// TestStaleHideMarkNeedsComments_audit14: a hide mark is stale only on a
// Page that answers comments without skip_hidden. A Page whose reply_to no
// longer lists comments cannot have skip_hidden (config refuses it), so its
// skip_hidden being off says nothing of a wish to answer hidden comments: it
// answers none. Its marks were taken for stale, and a reply queued before
// the change (or an API call) dropped the mark and went to a comment the
// Page had hidden. They hold there.
func TestStaleHideMarkNeedsComments_audit14(t *testing.T) {
	ctx := context.Background()
	e, _ := inspectingEnqueuer(t)
	l := e.Ledger
	convOnly := &config.Page{ID: "100", ReplyTo: []string{config.ReplyConversations}}
	if ok, err := l.MarkHidden(ctx, "100", "1_1", time.Time{}); err != nil || !ok {
		t.Fatalf("hide: %v %v", ok, err)
	}
	en, err := l.Get(ctx, "100", Target{Kind: KindComment, ID: "1_1"})
	if err != nil {
		t.Fatal(err)
	}
	if StaleHideMark(convOnly, en) {
		t.Errorf("a hide mark on a Page that no longer replies to comments is taken for stale")
	}
	r := Reply{PageID: "100", Target: Target{Kind: KindComment, ID: "1_1"}, Text: "hi", Source: SourceAPI}
	if o, _, err := e.EnqueueOn(ctx, convOnly, r); err != nil || o != AlreadyFailed {
		t.Errorf("EnqueueOn, reply_to without comments: %v %v; want failed, the mark kept", o, err)
	}
	if en, _ := l.Get(ctx, "100", r.Target); en.Reason != HiddenReason {
		t.Errorf("entry %+v; want the hide mark kept", en)
	}
	withComments := &config.Page{ID: "100", ReplyTo: []string{config.ReplyConversations, config.ReplyComments}}
	if !StaleHideMark(withComments, en) {
		t.Errorf("a hide mark on a Page answering comments without skip_hidden is not stale")
	}
}
