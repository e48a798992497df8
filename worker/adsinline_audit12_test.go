package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// TestInlineAdsPostAnsweredWithAdsPosts_audit12: a post made inline with an
// ad in Ads Manager (Meta's INLINE_CREATE post, the usual "dark post") is
// listed by GET /{page-id}/ads_posts only with include_inline_create=true,
// Graph's default being false: with pages[].ads_posts on, its comments are
// answered, once each, as the Ads Posts tool's posts' are. Asked without the
// parameter, ads_posts never listed it and its comments were missed.
func TestInlineAdsPostAnsweredWithAdsPosts_audit12(t *testing.T) {
	f := newListingFixture(t, 8812, 6120000, func(p *config.Page) { p.AdsPosts = true },
		func(h *harness, page string) string {
			return h.sb.AddInlineAdsPost(page, "Made with the ad", time.Now().Add(-3*time.Hour))
		})
	h, ctx := f.h, context.Background()
	pl := f.poller(nil, nil)
	rep, err := pl.Poll(ctx, f.page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.AdsPosts != 1 || rep.AdsPostsNotRead != "" {
		t.Errorf("report: %d ads posts, not read %q; want 1, \"\"", rep.AdsPosts, rep.AdsPostsNotRead)
	}
	h.startWorker(t, 4)
	all := append(append([]tasks.Reply{}, f.feed...), f.only...)
	h.waitSent(t, all, 20*time.Second)
	if _, err := pl.Poll(ctx, f.page.ID, false); err != nil {
		t.Fatal(err)
	}
	h.checkExactlyOnce(t, all)
}
