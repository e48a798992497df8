package worker_test

import (
	"context"
	"testing"
	"time"
)

// TestLowQualityLiveCommentAnswered_audit12: the comments edge of a live
// video leaves out, by Graph's default (live_filter=filter_low_quality), the
// comments its filter takes for low quality; the webhook still delivers
// them, and SPEC's comments read is "every comment, replies included". The
// poll asks live_filter=no_filter (ignored on any other post), so such a
// comment the webhook missed is found and answered like the others. Before,
// the poll never listed it.
func TestLowQualityLiveCommentAnswered_audit12(t *testing.T) {
	f := newHiddenFixture(t, 8831, false)
	h, ctx := f.h, context.Background()
	low := f.replies[1]
	if !h.sb.MarkLowQuality(low.Target.ID) {
		t.Fatal("MarkLowQuality: unknown comment")
	}
	rep, err := f.poller(nil).Poll(ctx, f.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued() != len(f.replies) {
		t.Errorf("poll queued %d, want %d: the low quality comment too", rep.Enqueued(), len(f.replies))
	}
	h.startWorker(t, 4)
	h.waitSent(t, f.replies, 20*time.Second)
	h.checkExactlyOnce(t, f.replies)
}
