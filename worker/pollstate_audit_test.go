package worker_test

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/worker"
)

// TestPollVisitorPostLookedAtOnce: a visitor's post is looked at for itself
// by the poll that first finds it, and remembered: a poll after it, the
// post unchanged, does not hand it to the batch again (a ledger read each,
// at every poll, for as long as the post stays inside scan_posts), whether
// the Page reads its comments or not. Each post is counted once, read for
// its comments or unchanged.
func TestPollVisitorPostLookedAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replyTo []string
	}{
		{name: "comments and posts", replyTo: []string{config.ReplyComments, config.ReplyPosts}},
		{name: "posts only", replyTo: []string{config.ReplyPosts}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 131})
			pages := pollPages(h)
			pages[0].ReplyTo = tc.replyTo
			pages[0].DefaultText = defaultText
			page := pages[0].ID
			vp := h.sb.AddPost(page, sandbox.User{ID: "13101", Name: "Vera Visitor"}, "do you deliver?", time.Now().Add(-2*time.Hour))
			pl := worker.NewPoller(h.pollParams(pages))
			ctx := context.Background()
			first, err := pl.Poll(ctx, page, false)
			if err != nil || first.Enqueued() != 1 || !queued(t, h, "post:"+vp) {
				t.Fatalf("first poll: %d enqueued, %v; want the visitor's post queued", first.Enqueued(), err)
			}
			// Each post looked at is either read for its comments or counted
			// unchanged (nothing of it to read).
			if first.Posts != 1 || first.CommentReads+first.Unchanged != 1 {
				t.Errorf("first poll: %d posts, %d comment reads, %d unchanged; want 1 post, read or unchanged", first.Posts, first.CommentReads, first.Unchanged)
			}
			rep, err := pl.Poll(ctx, page, false)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Seen != 0 || rep.Posts != 1 || rep.Unchanged != 1 {
				t.Errorf("second poll, nothing changed: %d items seen, %d posts, %d unchanged; want 0, 1, 1", rep.Seen, rep.Posts, rep.Unchanged)
			}
		})
	}
}

// TestPollStateOutlivesScanPosts: what a Page's polls remember (each post's
// state, the newest conversation) is kept a day past scan_posts, the default
// one when unset: it goes with the posts it describes, and not before, for a
// poll that reads again a post still inside scan_posts reads it all again
// (and a conversations-only Page keeps its records all the same).
func TestPollStateOutlivesScanPosts(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replyTo []string
		scan    time.Duration
		want    time.Duration // scan_posts in effect
	}{
		{name: "comments, scan_posts 48h", replyTo: []string{config.ReplyComments}, scan: 48 * time.Hour, want: 48 * time.Hour},
		{name: "comments, default scan_posts", replyTo: []string{config.ReplyComments}, want: worker.DefaultScanPosts},
		{name: "conversations only", replyTo: []string{config.ReplyConversations}, want: worker.DefaultScanPosts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 137})
			pages := pollPages(h)
			pages[0].ReplyTo, pages[0].ScanPosts, pages[0].DefaultText = tc.replyTo, tc.scan, defaultText
			page := pages[0].ID
			h.addComments(page, 1, "")
			h.sb.AddMessage(page, sandbox.User{ID: "13701", Name: "Mia Message"}, "hello", time.Now().Add(-time.Minute))
			ctx := context.Background()
			if rep, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, false); err != nil || rep.Enqueued() != 1 {
				t.Fatalf("poll: %d enqueued, %v; want 1", rep.Enqueued(), err)
			}
			posts, convs := worker.PollStateKeys(h.ledger, page)
			keys := []string{posts}
			if tc.replyTo[0] == config.ReplyConversations {
				keys = append(keys, convs)
			}
			for _, k := range keys {
				ttl, err := h.db.Client.TTL(ctx, k).Result()
				if err != nil {
					t.Fatal(err)
				}
				if ttl <= tc.want || ttl > tc.want+24*time.Hour {
					t.Errorf("%s: time to live %s, want past scan_posts (%s), at most a day past it", k, ttl, tc.want)
				}
			}
		})
	}
}

// TestDryPollOfConversationsWritesNothing: a dry run of a Page that answers
// conversations writes nothing to Redis (no record of the newest
// conversation it read, which would hide the conversations before it from
// the next real poll), and reads while another poll of the Page holds its
// lease: it takes none itself.
func TestDryPollOfConversationsWritesNothing(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 139})
	pages := conversationPages(h)
	page := pages[0].ID
	h.sb.AddMessage(page, sandbox.User{ID: "13901", Name: "Dora Dry"}, "hello", time.Now().Add(-time.Minute))
	ctx := context.Background()
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, true)
	if err != nil || rep.Conversations != 1 || len(rep.Replies) != 1 {
		t.Fatalf("dry run: %d conversations, %d replies, %v; want 1, 1", rep.Conversations, len(rep.Replies), err)
	}
	if keys := h.db.Client.Keys(ctx, "*").Val(); len(keys) != 0 {
		t.Fatalf("dry run wrote %d keys to Redis: %v", len(keys), keys)
	}
	// A poll of the Page is running (it holds the lease).
	if _, ok, err := h.ledger.TryLease(ctx, page, "poll", time.Minute); err != nil || !ok {
		t.Fatalf("take the poll lease: %v %v", ok, err)
	}
	rep, err = worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, true)
	if err != nil || rep.Busy || len(rep.Replies) != 1 {
		t.Errorf("dry run beside a running poll: busy %v, %d replies, %v; want it read", rep.Busy, len(rep.Replies), err)
	}
}

// TestPollReadsCommentsDownToNewestSeen: a post's comments read again, for a
// new comment, stop at the newest comment the last poll saw (less the
// overlap), not at the end of the reply window: one page of a post with 150
// comments of the last day, not two.
func TestPollReadsCommentsDownToNewestSeen(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 141})
	pages := commentPages(h)
	page := pages[0].ID
	now := time.Now()
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", now.Add(-25*time.Hour))
	for i := range 150 {
		h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("141%04d", i), Name: "Old Friend"}, "hello", now.Add(-time.Duration(i+10)*time.Minute))
	}
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	before := h.sb.Calls()[sandbox.EndpointComments]
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 150 {
		t.Fatalf("first poll: %d enqueued, %v; want 150", rep.Enqueued(), err)
	}
	if n := h.sb.Calls()[sandbox.EndpointComments] - before; n < 2 {
		t.Fatalf("first poll read %d pages of comments: the test needs the post's comments on two", n)
	}
	h.sb.AddComment(post, sandbox.User{ID: "1419999", Name: "New Friend"}, "hello", time.Now())
	before = h.sb.Calls()[sandbox.EndpointComments]
	rep, err := pl.Poll(ctx, page, false)
	if err != nil || rep.Enqueued() != 1 {
		t.Fatalf("second poll: %d enqueued, %v; want the new comment", rep.Enqueued(), err)
	}
	if n := h.sb.Calls()[sandbox.EndpointComments] - before; n != 1 {
		t.Errorf("second poll read %d pages of the post's comments, want 1: down to the newest comment seen", n)
	}
}

// TestPollFullReadDueAtItsTime: a full read comes once fullReadEvery (6 h
// for a max_age of a week) has passed since the last one, to the second,
// and a record of the last one a little ahead of this host's clock (less
// than fullReadSkew: the clocks of the hosts polling a Page differ a
// little) is taken at its word: no full read at every poll.
func TestPollFullReadDueAtItsTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		last time.Duration // the last full read, from the poll's clock
		full bool
	}{
		{name: "6h ago", last: -6 * time.Hour, full: true},
		{name: "6h less a second ago", last: -6*time.Hour + time.Second, full: false},
		{name: "30s ahead", last: 30 * time.Second, full: false},
		{name: "90s ahead", last: 90 * time.Second, full: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 3, Seed: 143})
			pages := pollPages(h)
			page := pages[0].ID
			clock := time.Now().Truncate(time.Second)
			p := h.pollParams(pages)
			p.Now = func() time.Time { return clock }
			pl := worker.NewPoller(p)
			ctx := context.Background()
			if _, err := pl.Poll(ctx, page, false); err != nil {
				t.Fatal(err)
			}
			posts, _ := worker.PollStateKeys(h.ledger, page)
			if err := h.db.Client.HSet(ctx, posts, "_full", strconv.FormatInt(clock.Add(tc.last).Unix(), 10)).Err(); err != nil {
				t.Fatal(err)
			}
			rep, err := pl.Poll(ctx, page, false)
			if err != nil {
				t.Fatal(err)
			}
			if (rep.FullRead != "") != tc.full {
				t.Errorf("last full read %s from now: full read %q, want one: %v", tc.last, rep.FullRead, tc.full)
			}
		})
	}
}

// TestPollForgetsPostsPastScanPosts: once a post is past scan_posts (and
// has nothing inside the reply window), a complete walk of the feed forgets
// what it remembered of it, the record of its failing reads included: the
// Page's poll state holds the posts a poll may read, not every post it ever
// read.
func TestPollForgetsPostsPastScanPosts(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 147})
	pages := commentPages(h)
	pages[0].ScanPosts, pages[0].MaxAge = 24*time.Hour, 24*time.Hour
	page := pages[0].ID
	now := time.Now()
	good := h.sb.AddPost(page, sandbox.User{ID: page}, "news", now.Add(-2*time.Hour))
	bad := h.sb.AddPost(page, sandbox.User{ID: page}, "live video", now.Add(-3*time.Hour))
	h.sb.AddComment(good, sandbox.User{ID: "14701", Name: "Ann First"}, "hello", now.Add(-10*time.Minute))
	h.sb.AddComment(bad, sandbox.User{ID: "14702", Name: "Bob Second"}, "hello", now.Add(-10*time.Minute))
	clock := now
	p := h.pollParams(pages)
	p.Now = func() time.Time { return clock }
	p.Graph, _ = failingGraph(t, h, func(path string) bool { return commentReadOf(path, map[string]bool{bad: true}) })
	pl := worker.NewPoller(p)
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 1 || rep.Unreadable != 1 {
		t.Fatalf("first poll: %d enqueued, %d unreadable, %v; want 1, 1", rep.Enqueued(), rep.Unreadable, err)
	}
	posts, _ := worker.PollStateKeys(h.ledger, page)
	for _, f := range []string{good, "_failing:" + bad} {
		if ok, err := h.db.Client.HExists(ctx, posts, f).Result(); err != nil || !ok {
			t.Fatalf("after the first poll, no field %s in the poll state (%v): the test proves nothing", f, err)
		}
	}
	clock = now.Add(3 * 24 * time.Hour)
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Posts != 0 {
		t.Fatalf("poll three days on: %d posts looked at, %v; want none", rep.Posts, err)
	}
	for _, f := range []string{good, "_failing:" + bad} {
		if ok, err := h.db.Client.HExists(ctx, posts, f).Result(); err != nil || ok {
			t.Errorf("field %s still in the poll state (%v), its post past scan_posts", f, err)
		}
	}
}

// feedFailing fails every read of the feed, while fail is set, with a
// transient error after it listed after posts, and counts the comment reads
// of each post.
type feedFailing struct {
	worker.PollGraph
	after int
	fail  atomic.Bool

	mu     sync.Mutex
	byPost map[string]int
}

func (f *feedFailing) Feed(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error] {
	return flaky(f.fail.Load(), f.after, f.PollGraph.Feed(ctx, token, pageID))
}

func (f *feedFailing) Comments(ctx context.Context, token, postID string) iter.Seq2[graph.Comment, error] {
	f.mu.Lock()
	f.byPost[postID]++
	f.mu.Unlock()
	return f.PollGraph.Comments(ctx, token, postID)
}

// TestFailedPollKeepsWhatItSaved: a poll saves its post states a batch at a
// time, as their replies are queued, with their time to live. One that
// fails past the first hundred changed posts (the feed keeps failing there)
// leaves those posts' states saved, on a key that expires (its time to live
// taken away here, as a key written first by that poll has none): the next
// poll does not read their comments again.
func TestFailedPollKeepsWhatItSaved(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 149})
	pages := commentPages(h)
	page := pages[0].ID
	now := time.Now()
	var ids []string
	for i := range 110 {
		post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", now.Add(-time.Duration(2*i+120)*time.Minute))
		h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("149%04d", i), Name: "Ann Friend"}, "hello", now.Add(-time.Duration(2*i+60)*time.Minute))
		ids = append(ids, post)
	}
	p := h.pollParams(pages)
	p.UnchangedAfter = time.Second
	fg := &feedFailing{PollGraph: p.Graph, after: 105, byPost: map[string]int{}}
	p.Graph = fg
	pl := worker.NewPoller(p)
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 110 {
		t.Fatalf("first poll: %d enqueued, %v; want 110", rep.Enqueued(), err)
	}
	posts, _ := worker.PollStateKeys(h.ledger, page)
	if err := h.db.Client.Persist(ctx, posts).Err(); err != nil {
		t.Fatal(err)
	}
	for i, post := range ids {
		h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("149%04d", 5000+i), Name: "Bea Friend"}, "hello", now.Add(-30*time.Second))
	}
	fg.fail.Store(true)
	if _, err := pl.Poll(ctx, page, false); err == nil {
		t.Fatal("poll with the feed failing after 105 posts: no error")
	}
	if ttl, err := h.db.Client.TTL(ctx, posts).Result(); err != nil || ttl <= 0 {
		t.Errorf("poll state after the failed poll: time to live %s (%v), want it to expire", ttl, err)
	}
	fg.fail.Store(false)
	clear(fg.byPost)
	rep, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Posts != 110 || len(fg.byPost) > 10 {
		t.Errorf("poll after the failed one: %d posts, the comments of %d read; want 110, at most the 10 past the saved hundred", rep.Posts, len(fg.byPost))
	}
}

// TestPollFullReadOnEachReplySetting: each of the settings that decide which
// items get a reply makes the next poll read everything again when it
// changes: a rule's pattern (the comments it now matches get their reply,
// though their posts have not changed), scan_posts, max_age; a new text
// for the same items does not.
func TestPollFullReadOnEachReplySetting(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*config.Page)
		full   bool
		queued int // replies the poll after the change queues
	}{
		{name: "rule pattern", change: func(p *config.Page) { p.Rules[0].Match = "(?i)hello" }, full: true, queued: 2},
		{name: "scan_posts", change: func(p *config.Page) { p.ScanPosts = 48 * time.Hour }, full: true},
		{name: "max_age", change: func(p *config.Page) { p.MaxAge = 48 * time.Hour }, full: true},
		{name: "rule text", change: func(p *config.Page) { p.Rules[0].Text = "Other words" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 151})
			pages := pollPages(h)
			pages[0].ReplyTo = []string{config.ReplyComments}
			pages[0].Rules = []config.Rule{{Match: "(?i)zzzzqqq", Text: "Never"}}
			pages[0].DefaultText = ""
			page := pages[0].ID
			post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", time.Now().Add(-2*time.Hour))
			for i := range 2 {
				h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("1510%d", i), Name: "Ann Friend"}, "hello", time.Now().Add(-time.Hour))
			}
			ctx := context.Background()
			poll := func() worker.PollReport {
				t.Helper()
				rep, err := worker.NewPoller(h.pollParams(pages)).Poll(ctx, page, false)
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			if rep := poll(); rep.Enqueued() != 0 {
				t.Fatalf("first poll: %d enqueued, want none (no rule matches)", rep.Enqueued())
			}
			tc.change(&pages[0])
			rep := poll()
			if (rep.FullRead != "") != tc.full || rep.Enqueued() != tc.queued {
				t.Errorf("poll after the change: full read %q, %d enqueued; want a full read %v, %d enqueued", rep.FullRead, rep.Enqueued(), tc.full, tc.queued)
			}
		})
	}
}

// TestPollCommentInTheSecondOfItsRead: a post counts as read when its read
// began, not when it ended. A comment made in the second of the post's last
// comment, after a slow read of its comments had its page, leaves the
// post's updated_time as it was: the next poll reads the post again all the
// same (its last comment came less than UnchangedAfter before the read
// began), and the comment gets its reply.
func TestPollCommentInTheSecondOfItsRead(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 153})
	pages := commentPages(h)
	page := pages[0].ID
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", time.Now().Add(-time.Hour))
	at := time.Now()
	h.sb.AddComment(post, sandbox.User{ID: "15301", Name: "Ann First"}, "hello", at)
	var late string
	p := h.pollParams(pages)
	p.UnchangedAfter = 3 * time.Second
	p.Graph = &listingGraph{PollGraph: p.Graph, after: 1, between: func() {
		late = h.sb.AddComment(post, sandbox.User{ID: "15302", Name: "Bea Same-Second"}, "hello", at)
		time.Sleep(4 * time.Second) // a slow read: it ends past UnchangedAfter
	}}
	pl := worker.NewPoller(p)
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 1 {
		t.Fatalf("first poll: %d enqueued, %v; want 1", rep.Enqueued(), err)
	}
	rep, err := pl.Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	if !queued(t, h, "comment:"+late) {
		t.Errorf("comment made in the second of the last one, during the read: no reply task (second poll: %d comment reads, %d unchanged)", rep.CommentReads, rep.Unchanged)
	}
}

// TestPollConversationsWatermark: the record of the newest conversation read
// moves on with every poll that reads a newer one, so each poll looks at the
// conversations since the last (less the overlap), not since the first; and
// a record older than the messaging window (the Page's polls stopped for
// days) does not take the poll past the window's start.
func TestPollConversationsWatermark(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 157})
	pages := conversationPages(h)
	page := pages[0].ID
	now := time.Now()
	h.sb.AddMessage(page, sandbox.User{ID: "15700", Name: "Olga Old"}, "hello", now.Add(-48*time.Hour))
	h.sb.AddMessage(page, sandbox.User{ID: "15701", Name: "Ann First"}, "hello", now.Add(-3*time.Hour))
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Conversations != 1 || rep.Enqueued() != 1 {
		t.Fatalf("first poll: %d conversations, %d enqueued, %v; want the one inside the messaging window", rep.Conversations, rep.Enqueued(), err)
	}
	h.sb.AddMessage(page, sandbox.User{ID: "15702", Name: "Bea Second"}, "hello", now.Add(-time.Hour))
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Conversations != 2 || rep.Enqueued() != 1 {
		t.Fatalf("second poll: %d conversations, %d enqueued, %v; want the new one and the first poll's newest (1 enqueued)", rep.Conversations, rep.Enqueued(), err)
	}
	h.sb.AddMessage(page, sandbox.User{ID: "15703", Name: "Cid Third"}, "hello", now)
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Conversations != 2 || rep.Enqueued() != 1 {
		t.Errorf("third poll: %d conversations, %d enqueued, %v; want the new one and the second poll's newest (1 enqueued)", rep.Conversations, rep.Enqueued(), err)
	}
	// The last poll that read anything, three days ago.
	_, convs := worker.PollStateKeys(h.ledger, page)
	if err := h.db.Client.Set(ctx, convs, now.Add(-72*time.Hour).Unix(), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Conversations != 3 {
		t.Errorf("poll after a record of three days ago: %d conversations looked at, %v; want the 3 inside the messaging window", rep.Conversations, err)
	}
}

// TestPollConversationShownAfterItsTime: the record of the newest
// conversation read is that conversation's updated_time, not the poll's
// clock: a conversation Graph lists only after a poll, dated between the
// newest one that poll saw and the poll itself (minutes, past the overlap),
// is looked at by the next poll and gets its reply.
func TestPollConversationShownAfterItsTime(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 159})
	pages := conversationPages(h)
	page := pages[0].ID
	now := time.Now()
	h.sb.AddMessage(page, sandbox.User{ID: "15901", Name: "Ann Early"}, "hello", now.Add(-10*time.Minute))
	pl := worker.NewPoller(h.pollParams(pages))
	ctx := context.Background()
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 1 {
		t.Fatalf("first poll: %d enqueued, %v; want 1", rep.Enqueued(), err)
	}
	h.sb.AddMessage(page, sandbox.User{ID: "15902", Name: "Bea Late"}, "hello", now.Add(-5*time.Minute))
	if rep, err := pl.Poll(ctx, page, false); err != nil || rep.Enqueued() != 1 {
		t.Errorf("second poll: %d enqueued, %v; want the conversation listed late", rep.Enqueued(), err)
	}
}

// TestPollBeyondScanCountsCommentReadsOnly: BeyondScan counts the posts
// created before scan_posts that a poll read for their comments, not a
// visitor's post there looked at for itself.
func TestPollBeyondScanCountsCommentReadsOnly(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 161})
	pages := postPages(h)
	page := pages[0].ID
	h.sb.AddPost(page, sandbox.User{ID: "16101", Name: "Vera Visitor"}, "do you deliver?", time.Now().Add(-48*time.Hour))
	rep, err := worker.NewPoller(h.pollParams(pages)).Poll(context.Background(), page, false)
	if err != nil || rep.Posts != 1 || rep.Enqueued() != 1 || rep.BeyondScan != 0 {
		t.Errorf("poll: %d posts, %d enqueued, %d beyond scan_posts, %v; want 1, 1, 0", rep.Posts, rep.Enqueued(), rep.BeyondScan, err)
	}
}

// TestPollStoppedByThePageReadsNoConversations: the conversations are read
// after a feed read that failed on Graph (they have their own listing), not
// after one Graph throttled or whose token it refused: those are the Page's,
// and a call more on a throttled Page lengthens its block.
func TestPollStoppedByThePageReadsNoConversations(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(sb *sandbox.Sandbox, page string)
	}{
		{name: "throttled", stop: func(sb *sandbox.Sandbox, page string) { sb.Throttle(page, time.Minute) }},
		{name: "token refused", stop: func(sb *sandbox.Sandbox, page string) { sb.BreakToken(page, true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 163})
			pages := pollPages(h)
			pages[0].ReplyTo = []string{config.ReplyComments, config.ReplyConversations}
			pages[0].DefaultText = defaultText
			page := pages[0].ID
			h.addComments(page, 1, "")
			h.sb.AddMessage(page, sandbox.User{ID: "16301", Name: "Mia Message"}, "hello", time.Now().Add(-time.Minute))
			tc.stop(h.sb, page)
			rep, err := worker.NewPoller(h.pollParams(pages)).Poll(context.Background(), page, false)
			if err == nil || rep.Paused == "" {
				t.Fatalf("poll: paused %q, %v; want it stopped and the Page paused", rep.Paused, err)
			}
			if n := h.sb.Calls()[sandbox.EndpointConversations]; n != 0 {
				t.Errorf("the conversations were read %d times after the feed's read stopped the poll", n)
			}
		})
	}
}

// TestPollFailingPostsStateExpires: the record of posts whose comments keep
// failing is written at once, with the poll state's time to live: a Page's
// first poll that fails on its third failing post leaves a state that
// expires.
func TestPollFailingPostsStateExpires(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 167})
	pages := commentPages(h)
	page := pages[0].ID
	bad := map[string]bool{}
	for i := range 3 {
		post := h.sb.AddPost(page, sandbox.User{ID: page}, "news", time.Now().Add(-time.Duration(i+2)*time.Hour))
		h.sb.AddComment(post, sandbox.User{ID: fmt.Sprintf("1670%d", i), Name: "Ann Friend"}, "hello", time.Now().Add(-time.Hour))
		bad[post] = true
	}
	p := h.pollParams(pages)
	p.Graph, _ = failingGraph(t, h, func(path string) bool { return commentReadOf(path, bad) })
	ctx := context.Background()
	if _, err := worker.NewPoller(p).Poll(ctx, page, false); err == nil {
		t.Fatal("poll with three posts in a row failing: no error")
	}
	posts, _ := worker.PollStateKeys(h.ledger, page)
	if n := h.db.Client.HLen(ctx, posts).Val(); n == 0 {
		t.Fatal("no failing post recorded: the test proves nothing")
	}
	if ttl, err := h.db.Client.TTL(ctx, posts).Result(); err != nil || ttl <= 0 {
		t.Errorf("poll state after the failed first poll: time to live %s (%v), want it to expire", ttl, err)
	}
}
