package sandbox_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// growClock is a settable clock for Options.Now.
type growClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *growClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *growClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// growRead is what a poll of the sandbox reads over loopback with
// pagereply's own Graph client: every post with its updated_time, every
// comment and conversation.
type growRead struct {
	updated  map[string]time.Time // post → updated_time
	comments map[string]graph.Comment
	convs    map[string]time.Time // conversation → updated_time
}

func pollSandbox(t *testing.T, c *graph.Client, p sandbox.Page) growRead {
	t.Helper()
	ctx := context.Background()
	r := growRead{updated: map[string]time.Time{}, comments: map[string]graph.Comment{}, convs: map[string]time.Time{}}
	for post, err := range c.Feed(ctx, p.Token, p.ID) {
		if err != nil {
			t.Fatalf("feed of %s: %v", p.ID, err)
		}
		r.updated[post.ID] = post.UpdatedTime.Time
		for cm, err := range c.Comments(ctx, p.Token, post.ID) {
			if err != nil {
				t.Fatalf("comments of %s: %v", post.ID, err)
			}
			r.comments[cm.ID] = cm
		}
	}
	for cv, err := range c.Conversations(ctx, p.Token, p.ID) {
		if err != nil {
			t.Fatalf("conversations of %s: %v", p.ID, err)
		}
		r.convs[cv.ID] = cv.UpdatedTime.Time
	}
	return r
}

// TestGrowPollSeesAudit8: what Grow adds, a poll of the sandbox (pagereply's
// Graph client over loopback) reads: each new comment with created_time the
// clock's now, its post's updated_time moved to now, replies under their
// parent, visitors' posts in the feed, messages moving their conversation's
// updated_time; new people and people seen before; every Page gets its
// share. And nothing changes while Grow is not called (the sandbox's
// behaviour before --grow).
func TestGrowPollSeesAudit8(t *testing.T) {
	clk := &growClock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)}
	sb := sandbox.New(sandbox.Options{Pages: 2, Posts: 4, Comments: 5, Conversations: 3, VisitorPosts: true, Seed: 8, Now: clk.Now})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	c := graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
	pages := sb.Pages()
	before := map[string]growRead{}
	for _, p := range pages {
		before[p.ID] = pollSandbox(t, c, p)
	}

	// No Grow: an hour later, a poll reads the same.
	clk.Add(time.Hour)
	for _, p := range pages {
		if again := pollSandbox(t, c, p); len(again.comments) != len(before[p.ID].comments) || len(again.updated) != len(before[p.ID].updated) {
			t.Fatalf("page %s changed without Grow: %d comments, %d posts; was %d, %d", p.ID,
				len(again.comments), len(again.updated), len(before[p.ID].comments), len(before[p.ID].updated))
		}
	}
	if st := sb.GrowStats(); st != (sandbox.GrowStats{}) {
		t.Fatalf("GrowStats without Grow: %+v", st)
	}

	const n = 400
	added := sb.Grow(n)
	now := clk.Now()
	if len(added) != n {
		t.Fatalf("Grow(%d) added %d", n, len(added))
	}
	st := sb.GrowStats()
	if st.Comments+st.Posts+st.Messages != n || st.Replies == 0 || st.Posts == 0 || st.Messages == 0 || st.Replies >= st.Comments {
		t.Fatalf("GrowStats %+v: want %d items, comments (some replies), posts and messages", st, n)
	}
	after := map[string]growRead{}
	for _, p := range pages {
		after[p.ID] = pollSandbox(t, c, p)
	}
	perPage := map[string]int{}
	people := map[string]int{}
	known := map[string]bool{}
	for _, p := range pages {
		for _, cm := range before[p.ID].comments {
			if cm.From != nil {
				known[cm.From.ID] = true
			}
		}
	}
	again := 0
	for _, g := range added {
		perPage[g.PageID]++
		if !g.CreatedTime.Equal(now) {
			t.Fatalf("%+v: created_time %s, want the clock's %s", g, g.CreatedTime, now)
		}
		if known[g.From.ID] || people[g.From.ID] > 0 {
			again++
		}
		people[g.From.ID]++
		read := after[g.PageID]
		switch g.Kind {
		case sandbox.KindComment:
			cm, ok := read.comments[g.CommentID]
			if !ok {
				t.Fatalf("comment %s (on %s) not read by a poll", g.CommentID, g.PostID)
			}
			if !cm.CreatedTime.Equal(now) || cm.From == nil || cm.From.ID != g.From.ID || cm.Message != g.Message || cm.CanReplyPrivately != g.CanReplyPrivately {
				t.Fatalf("comment read as %+v, added as %+v", cm, g)
			}
			if (cm.Parent != nil) != (g.ParentID != "") || cm.Parent != nil && cm.Parent.ID != g.ParentID {
				t.Fatalf("comment %s: parent %+v, want %q", g.CommentID, cm.Parent, g.ParentID)
			}
			if u := read.updated[g.PostID]; !u.Equal(now) {
				t.Fatalf("post %s: updated_time %s after a comment at %s", g.PostID, u, now)
			}
		case sandbox.KindPost:
			if _, ok := read.updated[g.PostID]; !ok || before[g.PageID].updated[g.PostID] != (time.Time{}) {
				t.Fatalf("visitor's post %s: not new in the feed", g.PostID)
			}
			if post, ok := sb.Post(g.PostID); !ok || post.FromPage || !post.CanReplyPrivately {
				t.Fatalf("visitor's post %s: %+v", g.PostID, post)
			}
		case sandbox.KindConversation:
			if u, ok := read.convs[g.ConversationID]; !ok || !u.Equal(now) {
				t.Fatalf("conversation %s: updated_time %s, want %s", g.ConversationID, u, now)
			}
		default:
			t.Fatalf("kind %q", g.Kind)
		}
	}
	for _, p := range pages {
		if perPage[p.ID] != n/len(pages) {
			t.Fatalf("page %s got %d of %d items: %v", p.ID, perPage[p.ID], n, perPage)
		}
	}
	if again == 0 || again == n {
		t.Fatalf("%d of %d items by someone seen before: want some, not all", again, n)
	}
	// The same seed grows the same items.
	twin := sandbox.New(sandbox.Options{Pages: 2, Posts: 4, Comments: 5, Conversations: 3, VisitorPosts: true, Seed: 8, Now: clk.Now})
	if !slices.EqualFunc(added, twin.Grow(n), func(a, b sandbox.Growth) bool { return a == b }) {
		t.Fatal("Grow is not deterministic for a seed")
	}
}

// TestGrowWithoutPostsOrConversationsAudit8: a Page with nothing to comment
// on gets visitors' posts (then comments on them); one without
// conversations gets no message.
func TestGrowWithoutPostsOrConversationsAudit8(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Seed: 3})
	added := sb.Grow(50)
	if added[0].Kind != sandbox.KindPost {
		t.Fatalf("first item on a Page without posts: %+v", added[0])
	}
	for _, g := range added {
		if g.Kind == sandbox.KindConversation {
			t.Fatalf("a message on a Page without conversations: %+v", g)
		}
	}
	if st := sb.GrowStats(); st.Comments == 0 || st.Posts == 0 || st.Messages != 0 {
		t.Fatalf("GrowStats %+v", st)
	}
}
