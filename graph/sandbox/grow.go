package sandbox

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"time"
)

// Shares of what Grow adds. Most of it is visitors' comments; a reply to an
// earlier comment, a visitor's post and a Messenger message now and then.
const (
	growShareMessage     = 0.05 // a message, on a Page with conversations
	growShareVisitorPost = 0.05 // a visitor's post, with Options.VisitorPosts
	growShareReply       = 0.25 // of comments: a reply to a top-level comment
	growShareSamePerson  = 0.30 // someone the sandbox knows already, not a new person
	growRecentPosts      = 10   // comments go to the Page's newest posts, the newest most

	// With Options.GrowReels, GrowRemovals and GrowHides, of every item:
	growShareReel        = 0.01 // a Reel the Page publishes
	growShareReelComment = 0.05 // a comment on one of the Page's newest Reels
	growShareRemove      = 0.02 // a comment Grow added is deleted
	growShareHide        = 0.02 // the Page hides a comment Grow added (or shows one again)
	growShareUnhide      = 0.25 // of hides: showing a hidden comment again, when one is
	growRecentComments   = 20   // removals and hides pick among the Page's last comments added
)

// KindReel is the Kind of a Growth that is a Reel the Page published.
const KindReel = "reel"

// Verbs of a Growth that changes a comment Grow added before.
const (
	VerbRemove = "remove"
	VerbHide   = "hide"
	VerbUnhide = "unhide"
)

// Growth is one item Grow added, with what a webhook delivery of it says.
type Growth struct {
	// Kind is KindComment, KindPost (a visitor's post) or KindConversation
	// (a person's message).
	Kind   string
	PageID string
	// PostID is the post of a comment, or the visitor's post itself.
	PostID string
	// CommentID is the comment's id; ParentID its parent comment's, for a
	// reply.
	CommentID string
	ParentID  string
	// ConversationID and MessageID are a message's.
	ConversationID string
	MessageID      string
	From           User
	Message        string
	CreatedTime    time.Time
	// CanReplyPrivately is the comment's or post's can_reply_privately.
	CanReplyPrivately bool
	// Verb is "" for a new item, or VerbRemove, VerbHide or VerbUnhide for
	// a comment added before that was deleted (Graph answers code 100,
	// subcode 33 for it and its replies from then on), hidden by the Page
	// (is_hidden true) or shown again; CreatedTime is then the change's time.
	Verb string
	// Reel is true for a comment on a Reel (PostID the Reel's id): Meta's
	// feed webhook names no reel item, so it has no delivery.
	Reel bool
}

// GrowStats counts what Grow added.
type GrowStats struct {
	Comments int `json:"comments"`
	Replies  int `json:"replies"` // of Comments, replies to a comment
	Posts    int `json:"posts"`
	Messages int `json:"messages"`
	// With Options.GrowReels, GrowRemovals and GrowHides: Reels published,
	// comments on Reels (counted in Comments too), comments removed, hidden
	// and shown again.
	Reels        int `json:"reels,omitempty"`
	ReelComments int `json:"reel_comments,omitempty"`
	Removed      int `json:"removed,omitempty"`
	Hidden       int `json:"hidden,omitempty"`
	Unhidden     int `json:"unhidden,omitempty"`
	// more is set, by Sandbox.GrowStats, when the sandbox grows any of
	// those: its JSON then has all five, at 0 before one was added.
	more bool
}

// MarshalJSON writes the counts: the five of GrowReels, GrowRemovals and
// GrowHides always when the sandbox grows any of them (a script reading
// removed before the first removal finds 0, not no key), and only those
// above 0 otherwise.
func (st GrowStats) MarshalJSON() ([]byte, error) {
	type plain GrowStats // the fields and tags, without this method
	if !st.more {
		return json.Marshal(plain(st))
	}
	return json.Marshal(struct {
		plain
		Reels        int `json:"reels"`
		ReelComments int `json:"reel_comments"`
		Removed      int `json:"removed"`
		Hidden       int `json:"hidden"`
		Unhidden     int `json:"unhidden"`
	}{plain(st), st.Reels, st.ReelComments, st.Removed, st.Hidden, st.Unhidden})
}

// grower is Grow's state; Sandbox.mu guards it.
type grower struct {
	r     *rand.Rand
	x     *rand.Rand // the choices of Reels, removals and hides: r's stay as without them
	next  int        // the Page the next item goes to
	stats GrowStats
	// recent are each Page's last comments added, not on a Reel, oldest
	// first: what a removal or a hide picks from.
	recent map[int32][]int32
}

// Grow adds n new visitors' items at the clock's now, round robin across
// the Pages, as people would while pagereply runs: mostly comments on the
// Page's newest posts (a quarter of them replies to an earlier comment),
// most from new people and some from people the sandbox knows already; now
// and then a visitor's post (with Options.VisitorPosts, or on a Page with
// no post to comment on) and, on a Page with conversations, a person's
// message. A comment moves its post's updated_time, a message its
// conversation's, as on Graph. The choices are deterministic for a seed and
// a sequence of calls. It returns what it added, in order.
func (s *Sandbox) Grow(n int) []Growth {
	if n <= 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := &s.gr
	if g.r == nil {
		g.r = seededRand(int64(s.seed), 2000)
		g.x = seededRand(int64(s.seed), 2001)
		g.recent = map[int32][]int32{}
	}
	now := s.now().Unix()
	out := make([]Growth, 0, n)
	for range n {
		pg := int32(g.next % len(s.st.pages))
		g.next++
		out = append(out, s.growOne(g, pg, now))
	}
	return out
}

// GrowStats returns what Grow added so far.
func (s *Sandbox) GrowStats() GrowStats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.gr.stats
	st.more = s.growReels || s.growRemovals || s.growHides
	return st
}

func (s *Sandbox) growOne(g *grower, pg int32, now int64) Growth {
	if s.growReels || s.growRemovals || s.growHides {
		if out, ok := s.growMore(g, pg, now); ok {
			return out
		}
	}
	st, r := &s.st, g.r
	p := &st.pages[pg]
	roll := r.Float64()
	switch {
	case roll < growShareMessage && len(p.convs) > 0:
		u := s.growPerson(r)
		ci := st.convFor(pg, u)
		id := s.newMessageID()
		text := messageTexts[r.IntN(len(messageTexts))]
		st.addMessage(ci, message{id: id, text: text, created: now})
		g.stats.Messages++
		return Growth{Kind: KindConversation, PageID: p.id, ConversationID: convID(ci), MessageID: id,
			From: st.userOf(pg, u), Message: text, CreatedTime: unix(now)}
	case roll < growShareMessage+growShareVisitorPost && s.visitorPosts || len(p.posts) == 0:
		u := s.growPerson(r)
		msg := visitorPostTexts[r.IntN(len(visitorPostTexts))]
		pi := st.addPost(pg, u, msg, now, true)
		g.stats.Posts++
		return Growth{Kind: KindPost, PageID: p.id, PostID: st.postID(pi), From: st.userOf(pg, u),
			Message: msg, CreatedTime: unix(now), CanReplyPrivately: true}
	}
	// A comment on one of the newest posts, the newest the most likely.
	u := r.Float64()
	pi := p.posts[len(p.posts)-1-int(u*u*float64(min(len(p.posts), growRecentPosts)))]
	parent := int32(-1)
	if top := st.posts[pi].top; len(top) > 0 && r.Float64() < growShareReply {
		parent = top[len(top)-1-r.IntN(min(len(top), growRecentPosts))]
	}
	from := s.growPerson(r)
	msg := commentTexts[r.IntN(len(commentTexts))]
	canReply := r.Float64() >= shareNoReply
	ci := st.addComment(pi, parent, from, msg, now, canReply)
	g.stats.Comments++
	out := Growth{Kind: KindComment, PageID: p.id, PostID: st.postID(pi), CommentID: st.commentID(ci),
		From: st.userOf(pg, from), Message: msg, CreatedTime: unix(now), CanReplyPrivately: canReply}
	if parent >= 0 {
		g.stats.Replies++
		out.ParentID = st.commentID(parent)
	}
	g.remember(pg, ci)
	return out
}

// remember keeps ci among the Page's last comments added.
func (g *grower) remember(pg, ci int32) {
	l := append(g.recent[pg], ci)
	if len(l) > growRecentComments {
		l = slices.Delete(l, 0, len(l)-growRecentComments)
	}
	g.recent[pg] = l
}

// growMore makes, with its own random stream, the items of
// Options.GrowReels, GrowRemovals and GrowHides: a Reel, a comment on a
// Reel, a comment removed, hidden or shown again. False when the roll
// picked none of them, or one the Page has nothing for (no Reel to comment
// on, no comment to remove): the item is then one Grow adds without them,
// chosen as without them.
func (s *Sandbox) growMore(g *grower, pg int32, now int64) (Growth, bool) {
	st, x := &s.st, g.x
	p := &st.pages[pg]
	roll := x.Float64()
	switch {
	case !s.growReels:
	case roll < growShareReel:
		pi := st.addPost(pg, byPage, postTexts[x.IntN(len(postTexts))], now, false)
		st.posts[pi].reel = true
		p.posts = slices.DeleteFunc(slices.Clone(p.posts), func(i int32) bool { return i == pi })
		p.reels = insertSorted(p.reels, pi, st.postCreated)
		g.stats.Reels++
		return Growth{Kind: KindReel, PageID: p.id, PostID: st.postID(pi), From: User{ID: p.id, Name: p.name},
			Message: st.posts[pi].msg, CreatedTime: unix(now)}, true
	case roll < growShareReel+growShareReelComment && len(p.reels) > 0:
		u := x.Float64()
		pi := p.reels[len(p.reels)-1-int(u*u*float64(min(len(p.reels), growRecentPosts)))]
		from := s.growPerson(x)
		msg := commentTexts[x.IntN(len(commentTexts))]
		canReply := x.Float64() >= shareNoReply
		ci := st.addComment(pi, -1, from, msg, now, canReply)
		g.stats.Comments++
		g.stats.ReelComments++
		return Growth{Kind: KindComment, PageID: p.id, PostID: st.postID(pi), CommentID: st.commentID(ci),
			From: st.userOf(pg, from), Message: msg, CreatedTime: unix(now), CanReplyPrivately: canReply, Reel: true}, true
	}
	roll -= growShareReel + growShareReelComment
	switch {
	case roll < 0:
	case roll < growShareRemove:
		if !s.growRemovals {
			break
		}
		if ci, ok := g.pick(st, pg, func(*comment) bool { return true }); ok {
			st.deleteComment(ci)
			g.stats.Removed++
			return s.growChange(pg, ci, VerbRemove, now), true
		}
	case roll < growShareRemove+growShareHide:
		if !s.growHides {
			break
		}
		if x.Float64() < growShareUnhide {
			if ci, ok := g.pick(st, pg, func(c *comment) bool { return c.byPage }); ok {
				st.comments[ci].byPage = false
				g.stats.Unhidden++
				return s.growChange(pg, ci, VerbUnhide, now), true
			}
		}
		if ci, ok := g.pick(st, pg, func(c *comment) bool { return !c.byPage }); ok {
			st.comments[ci].byPage = true
			g.stats.Hidden++
			return s.growChange(pg, ci, VerbHide, now), true
		}
	}
	return Growth{}, false
}

// pick returns one of the Page's last comments added that is not deleted
// and that ok accepts, chosen with g.x; false when there is none.
func (g *grower) pick(st *store, pg int32, ok func(*comment) bool) (int32, bool) {
	var can []int32
	for _, ci := range g.recent[pg] {
		if c := &st.comments[ci]; !c.deleted && ok(c) {
			can = append(can, ci)
		}
	}
	if len(can) == 0 {
		return 0, false
	}
	return can[g.x.IntN(len(can))], true
}

// growChange is the Growth of a change to comment ci at now.
func (s *Sandbox) growChange(pg, ci int32, verb string, now int64) Growth {
	st := &s.st
	c := &st.comments[ci]
	out := Growth{Kind: KindComment, PageID: st.pages[pg].id, PostID: st.postID(c.post), CommentID: st.commentID(ci),
		From: st.userOf(pg, c.from), CreatedTime: unix(now), CanReplyPrivately: c.canReply, Verb: verb}
	if c.parent >= 0 {
		out.ParentID = st.commentID(c.parent)
	}
	return out
}

// growPerson returns a new person, or now and then one the sandbox knows.
func (s *Sandbox) growPerson(r *rand.Rand) int32 {
	st := &s.st
	if len(st.users) > 0 && r.Float64() < growShareSamePerson {
		return int32(r.IntN(len(st.users)))
	}
	return st.addUser(st.newUserID(r), randomName(r))
}
