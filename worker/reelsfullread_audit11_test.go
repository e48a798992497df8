package worker_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// TestReelListingBehindNotReadInFullEachPoll_audit11: a Reel whose
// updated_time is ahead of its newest listed comment (its caption edited, a
// comment the listing does not show yet: listingBehind) is read,
// after a full read, from its newest comment seen (less the overlap), as
// any other Reel read since that full read began. It was read back to the
// reply window at every poll for up to listingLag (15 minutes): the poll
// recorded its read time as the Reel's updated_time (as it does for a feed
// post, to read it again), which the rule "read in full when last read
// before the last full read began" took for a read before that full read.
func TestReelListingBehindNotReadInFullEachPoll_audit11(t *testing.T) {
	lf := newReelsFixture(t, 11101, true)
	h, ctx := lf.h, context.Background()
	const old = 20
	addOldComments(h, lf.onlyPost, 6500000, old)
	poller := func(page config.Page, now func() time.Time) *worker.Poller {
		p := h.pollParams([]config.Page{page})
		p.Now = now
		return worker.NewPoller(p)
	}
	early := func() time.Time { return time.Now().Add(-2 * time.Second) }
	if _, err := poller(lf.page, early).Poll(ctx, lf.page.ID, false); err != nil {
		t.Fatal(err)
	}
	// The Reel's caption edited: its updated_time is ahead of every comment.
	if !h.sb.EditPost(lf.onlyPost, time.Now().Add(-5*time.Second)) {
		t.Fatal("sandbox: Reel not edited")
	}
	// A full read (the reply settings changed) begins after that (its
	// start recorded 2 s early, so that a Reel read by it is not one read
	// in the second it began, read in full once more).
	changed := lf.page
	changed.MaxAge = 20 * time.Hour
	if rep, err := poller(changed, early).Poll(ctx, lf.page.ID, false); err != nil || rep.FullRead == "" {
		t.Fatalf("full read: %q %v", rep.FullRead, err)
	}
	for i := range 2 {
		rep, err := poller(changed, time.Now).Poll(ctx, lf.page.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.FullRead != "" || rep.Reels != 1 {
			t.Fatalf("poll %d: full read %q, %d reels", i, rep.FullRead, rep.Reels)
		}
		if rep.Seen >= old {
			t.Errorf("poll %d after the full read: %d comments seen, want the Reel's newest only (less than %d): it was read back to the reply window again", i, rep.Seen, old)
		}
	}
}

// addOldComments adds n comments to post from visitors numbered from idBase,
// older than the poll's overlap and inside the reply window (90 minutes
// old, a minute apart): a poll that reads the post back to its window sees
// n or more, one that reads its newest comments only, fewer.
func addOldComments(h *harness, post string, idBase, n int) {
	for i := range n {
		h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(idBase + i), Name: "Old Visitor"}, "hello",
			time.Now().Add(-90*time.Minute+time.Duration(i)*time.Minute))
	}
}
