package sandbox

import (
	"math/rand/v2"
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
}

// GrowStats counts what Grow added.
type GrowStats struct {
	Comments int `json:"comments"`
	Replies  int `json:"replies"` // of Comments, replies to a comment
	Posts    int `json:"posts"`
	Messages int `json:"messages"`
}

// grower is Grow's state; Sandbox.mu guards it.
type grower struct {
	r     *rand.Rand
	next  int // the Page the next item goes to
	stats GrowStats
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
	return s.gr.stats
}

func (s *Sandbox) growOne(g *grower, pg int32, now int64) Growth {
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
