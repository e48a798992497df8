package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// growMoreSandbox is a sandbox whose Grow makes Reels, removals and hides,
// served over loopback, with pagereply's Graph client.
func growMoreSandbox(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, *graph.Client) {
	t.Helper()
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
}

func growMoreOptions(clk *growClock) sandbox.Options {
	return sandbox.Options{Pages: 2, Posts: 3, Comments: 4, Conversations: 2, VisitorPosts: true, Seed: 9, Now: clk.Now,
		GrowReels: true, GrowRemovals: true, GrowHides: true}
}

// TestGrowReelsAudit9: with GrowReels, Grow publishes Reels that the
// video_reels edge lists (and the feed does not), and comments on them that
// the Reel's comments edge lists; such a comment has no webhook delivery,
// and a Reel neither.
func TestGrowReelsAudit9(t *testing.T) {
	clk := &growClock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	sb, c := growMoreSandbox(t, growMoreOptions(clk))
	ctx := context.Background()
	var reels, reelComments []sandbox.Growth
	for range 40 {
		clk.Add(time.Second)
		for _, g := range sb.Grow(50) {
			switch {
			case g.Kind == sandbox.KindReel:
				reels = append(reels, g)
			case g.Reel:
				reelComments = append(reelComments, g)
			}
		}
	}
	st := sb.GrowStats()
	if len(reels) == 0 || len(reelComments) == 0 || st.Reels != len(reels) || st.ReelComments != len(reelComments) {
		t.Fatalf("GrowStats %+v: %d Reels, %d comments on Reels grown; want some of each, counted", st, len(reels), len(reelComments))
	}
	listed := map[string]sandbox.Page{}
	for _, p := range sb.Pages() {
		for r, err := range c.Reels(ctx, p.Token, p.ID) {
			if err != nil {
				t.Fatalf("video_reels of %s: %v", p.ID, err)
			}
			listed[r.ID] = p
		}
		for post, err := range c.Feed(ctx, p.Token, p.ID) {
			if err != nil {
				t.Fatalf("feed of %s: %v", p.ID, err)
			}
			if _, ok := listed[post.ID]; ok {
				t.Fatalf("the feed of %s lists Reel %s", p.ID, post.ID)
			}
		}
	}
	for _, r := range reels {
		if p, ok := listed[r.PostID]; !ok || p.ID != r.PageID {
			t.Fatalf("Reel %s of %s not listed by its Page's video_reels", r.PostID, r.PageID)
		}
		if _, ok := sandbox.WebhookBody(r); ok {
			t.Fatalf("Reel %s has a webhook delivery", r.PostID)
		}
	}
	for _, g := range reelComments {
		if _, ok := listed[g.PostID]; !ok || g.Verb != "" || g.Kind != sandbox.KindComment {
			t.Fatalf("comment on a Reel %+v: not on a listed Reel", g)
		}
		if _, ok := sandbox.WebhookBody(g); ok {
			t.Fatalf("comment %s on a Reel has a webhook delivery", g.CommentID)
		}
		p := listed[g.PostID]
		found := false
		for cm, err := range c.Comments(ctx, p.Token, g.PostID) {
			if err != nil {
				t.Fatalf("comments of Reel %s: %v", g.PostID, err)
			}
			found = found || cm.ID == g.CommentID && cm.CanReplyPrivately == g.CanReplyPrivately
		}
		if !found {
			t.Fatalf("comment %s not listed on its Reel %s", g.CommentID, g.PostID)
		}
	}
}

// TestGrowRemovalsAudit9: with GrowRemovals, Grow deletes comments it added
// before: Graph answers code 100, subcode 33 for the comment from then on,
// and a private reply to it is refused; its Growth is delivered as a feed
// change of verb remove naming the comment.
func TestGrowRemovalsAudit9(t *testing.T) {
	clk := &growClock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	sb, c := growMoreSandbox(t, growMoreOptions(clk))
	ctx := context.Background()
	tokens := map[string]string{}
	for _, p := range sb.Pages() {
		tokens[p.ID] = p.Token
	}
	added := map[string]bool{}
	var removed []sandbox.Growth
	for range 40 {
		clk.Add(time.Second)
		for _, g := range sb.Grow(50) {
			switch {
			case g.Kind == sandbox.KindComment && g.Verb == "":
				added[g.CommentID] = true
			case g.Verb == sandbox.VerbRemove:
				removed = append(removed, g)
			}
		}
	}
	if len(removed) == 0 || sb.GrowStats().Removed != len(removed) {
		t.Fatalf("%d removals grown, GrowStats %+v: want some, counted", len(removed), sb.GrowStats())
	}
	for _, g := range removed {
		if !added[g.CommentID] || g.Kind != sandbox.KindComment {
			t.Fatalf("removal %+v: not of a comment Grow added before", g)
		}
		_, err := c.Comment(ctx, tokens[g.PageID], g.CommentID)
		var ge *graph.Error
		if !errors.As(err, &ge) || ge.Code != 100 || ge.Subcode != 33 {
			t.Fatalf("read of removed comment %s: %v; want code 100/33", g.CommentID, err)
		}
		if _, ok := sb.Comment(g.CommentID); ok {
			t.Fatalf("removed comment %s still known", g.CommentID)
		}
		_, err = c.SendPrivateReply(ctx, tokens[g.PageID], g.PageID, graph.Recipient{CommentID: g.CommentID}, "hi")
		if !errors.As(err, &ge) || ge.Code != 100 {
			t.Fatalf("private reply to removed comment %s: %v; want code 100", g.CommentID, err)
		}
		v := webhookValue(t, g)
		if v["verb"] != "remove" || v["item"] != "comment" || v["comment_id"] != g.CommentID || v["post_id"] != g.PostID {
			t.Fatalf("delivery of removal %s: %v", g.CommentID, v)
		}
	}
}

// TestGrowHidesAudit9: with GrowHides, the Page hides comments Grow added
// (is_hidden true when read, still listed, still repliable as at Graph) and
// now and then shows a hidden one again; each is delivered as verb hide or
// unhide naming the comment.
func TestGrowHidesAudit9(t *testing.T) {
	clk := &growClock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	sb, c := growMoreSandbox(t, growMoreOptions(clk))
	ctx := graph.WithHidden(context.Background())
	tokens := map[string]string{}
	for _, p := range sb.Pages() {
		tokens[p.ID] = p.Token
	}
	hidden := map[string]bool{} // last verb per comment: true hide
	var hides, unhides int
	for range 60 {
		clk.Add(time.Second)
		for _, g := range sb.Grow(50) {
			switch g.Verb {
			case sandbox.VerbHide:
				if hidden[g.CommentID] {
					t.Fatalf("comment %s hidden twice in a row", g.CommentID)
				}
				hidden[g.CommentID] = true
				hides++
			case sandbox.VerbUnhide:
				if !hidden[g.CommentID] {
					t.Fatalf("comment %s shown again without being hidden", g.CommentID)
				}
				hidden[g.CommentID] = false
				unhides++
			case sandbox.VerbRemove:
				delete(hidden, g.CommentID)
			default:
				continue
			}
			v := webhookValue(t, g)
			if v["verb"] != g.Verb || v["item"] != "comment" || v["comment_id"] != g.CommentID {
				t.Fatalf("delivery of %s %s: %v", g.Verb, g.CommentID, v)
			}
		}
	}
	st := sb.GrowStats()
	if hides == 0 || unhides == 0 || st.Hidden != hides || st.Unhidden != unhides {
		t.Fatalf("GrowStats %+v: %d hides, %d unhides grown; want some of each, counted", st, hides, unhides)
	}
	for id, h := range hidden {
		cm, ok := sb.Comment(id)
		if !ok {
			continue // a reply removed with its parent
		}
		got, err := c.Comment(ctx, tokens[cm.PageID], id)
		if err != nil || got.IsHidden != h {
			t.Fatalf("comment %s: is_hidden %v, %v; want %v", id, got.IsHidden, err, h)
		}
	}
}

// TestGrowMoreDeterministicAudit9: the same seed and calls give the same
// items with Reels, removals and hides; without them, Grow makes none of
// them.
func TestGrowMoreDeterministicAudit9(t *testing.T) {
	run := func(more bool) []sandbox.Growth {
		clk := &growClock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
		opts := growMoreOptions(clk)
		opts.GrowReels, opts.GrowRemovals, opts.GrowHides = more, more, more
		sb := sandbox.New(opts)
		var out []sandbox.Growth
		for range 20 {
			clk.Add(time.Second)
			out = append(out, sb.Grow(50)...)
		}
		return out
	}
	if a, b := run(true), run(true); !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of the same seed grew different items")
	}
	for _, g := range run(false) {
		if g.Kind == sandbox.KindReel || g.Reel || g.Verb != "" {
			t.Fatalf("Grow without the options made %+v", g)
		}
	}
}

// webhookValue is the value of the one change of g's delivery.
func webhookValue(t *testing.T, g sandbox.Growth) map[string]any {
	t.Helper()
	body, ok := sandbox.WebhookBody(g)
	if !ok {
		t.Fatalf("%+v: no delivery", g)
	}
	var d struct {
		Entry []struct {
			Changes []struct {
				Field string         `json:"field"`
				Value map[string]any `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(body, &d); err != nil || len(d.Entry) != 1 || len(d.Entry[0].Changes) != 1 || d.Entry[0].Changes[0].Field != "feed" {
		t.Fatalf("delivery %s: %v", body, err)
	}
	return d.Entry[0].Changes[0].Value
}
