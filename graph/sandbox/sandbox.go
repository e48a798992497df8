// Package sandbox owns an in-process simulator of the Facebook Graph API calls that
// pagereply makes (SPEC.md, "The Graph API calls"): Pages seeded deterministically
// with posts, comments and conversations; the feed, comments, object, conversations
// and messages endpoints with Meta's JSON shapes, cursor paging and error codes;
// per-Page send throttling with Meta's usage headers; faults injected at run time;
// and a record of every send, so tests can check that each comment got exactly one
// private reply. It is a plain http.Handler: the demo, the integration tests and the
// benchmarks talk to it over real loopback HTTP.
//
// It shares no code with the graph client, so a bug in one cannot hide in the other.
package sandbox

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// TimeLayout is the layout Graph uses for created_time and updated_time.
const TimeLayout = "2006-01-02T15:04:05-0700"

// ReplyWindow is how long after a comment or visitor post a private reply is
// accepted (code 10903 after it).
const ReplyWindow = 7 * 24 * time.Hour

// MessagingWindow is how long after a person's last message the Page may answer
// in the conversation (code 10, subcode 2018278 after it).
const MessagingWindow = 24 * time.Hour

// MaxTextLen is the longest message text Graph accepts, in characters.
const MaxTextLen = 2000

// Send kinds, as in Send.Kind.
const (
	KindComment      = "comment"
	KindPost         = "post"
	KindConversation = "conversation"
)

// Options configures New. Seeding is deterministic: the same Options (and the
// same clock reading) give the same Pages, tokens, posts, comments and
// conversations.
type Options struct {
	// Pages is the number of Pages to seed. If zero, 1.
	Pages int
	// Posts is the number of posts seeded on each Page. If zero, none.
	Posts int
	// Comments is the number of comments seeded on each post, replies included.
	// If zero, none.
	Comments int
	// Conversations is the number of Messenger conversations seeded on each Page.
	// If zero, none.
	Conversations int
	// VisitorPosts makes about one seeded post in five a visitor's post on the Page
	// (from a person, can be replied to privately). If false, every seeded post is
	// the Page's own.
	VisitorPosts bool
	// Seed drives every random choice: seeding, fault rolls, ids.
	Seed int64
	// GrowReels makes Grow publish a Reel now and then (about one item in
	// a hundred) and comment on the Page's newest Reels (one in twenty).
	// GrowRemovals makes it delete a comment it added (one in fifty),
	// GrowHides hide one as the Page does, or show a hidden one again (one
	// in fifty). They choose with a random stream of their own: an item
	// that is none of them is chosen as without them.
	GrowReels, GrowRemovals, GrowHides bool
	// Now is the clock used for seeding, reply windows and throttling. If nil,
	// time.Now.
	Now func() time.Time
	// SendRate is the number of sends (POST /messages) per second that each Page
	// may make, counted over a sliding one-second window (for a rate below 1, one
	// send per 1/SendRate seconds). If zero, unlimited.
	SendRate float64
	// ReadRate, when above 0, throttles reads as Meta does: each Page may make
	// ReadRate reads a second of each rate limit type (its feed, comments and
	// objects are the Pages API's, refused with 80001; its conversations and
	// their messages are the Messenger Platform's, refused with 80006, as its
	// sends are), counted over a sliding one-second window (for a rate below
	// 1, one read per 1/ReadRate seconds). A Page past it is refused every
	// call of that type, reads and sends, for ThrottleBlock; and a block that
	// sends started (SendRate) refuses its conversation reads too. If zero,
	// reads are throttled only by Throttle, and a send block refuses sends
	// only.
	ReadRate float64
	// ThrottleBlock is how long a Page that went past SendRate (or ReadRate)
	// is refused sends (or calls of that rate limit type) with code 80006 or
	// 80001. If zero, one minute.
	ThrottleBlock time.Duration
	// AppSecret, when set, makes every call require a correct appsecret_proof.
	AppSecret string
	// Faults are the faults injected from the start; see SetFaults.
	Faults Faults
	// AppNotLive makes the app one not live (not through App Review): a send
	// to a person not in AppTesters is refused with code 10, subcode 2018028,
	// as Meta refuses it; see SetAppNotLive. If false, anyone may be sent to.
	AppNotLive bool
	// AppTesters are the person ids with a role on the app (admins,
	// developers, testers): with AppNotLive, the only people sent to.
	AppTesters []string
	// LogReads makes the sandbox record every read of a Page that reaches
	// its rate limit (Reads, MaxReadsIn): when, of which rate limit type and
	// endpoint, and whether it was refused as throttled. Off, nothing is
	// kept per read.
	LogReads bool
	// LogCalls makes the sandbox keep the time of every POST
	// /{page-id}/messages call of a Page (CallLog, and MaxCallsIn for a
	// window other than one second), for tests and bounded runs. Off, it
	// keeps per Page only a count, the calls of the last second and the
	// busiest second (CallCount, SendPeak, MaxCallsIn(page, time.Second)), so
	// a sandbox that runs for hours grows nothing per call.
	LogCalls bool
	// WatchStalls starts a StallWatch (StallTick, StallLate) with the
	// sandbox, stopped by Close: it notes when the process serving the
	// sandbox stalled, so a test counting calls per second (CheckSends)
	// tells calls handled together after a stall from a burst of calls.
	// Off, Stalls is empty.
	WatchStalls bool
}

// User is a person or Page as Graph names it in from and participants.
type User struct {
	ID   string
	Name string
}

// Page is a seeded Page with its access token.
type Page struct {
	ID    string
	Name  string
	Token string
}

// Post is a post on a Page's feed, with every field the sandbox knows.
type Post struct {
	ID                string
	PageID            string
	From              User
	Message           string
	CreatedTime       time.Time
	UpdatedTime       time.Time
	CanReplyPrivately bool
	// FromPage is true when the Page itself wrote the post.
	FromPage bool
}

// Comment is a comment on a post, top-level or a reply (ParentID set), with every
// field the sandbox knows.
type Comment struct {
	ID                string
	PostID            string
	PageID            string
	ParentID          string
	From              User
	Message           string
	CreatedTime       time.Time
	CanReplyPrivately bool
	// FromPage is true when the Page itself wrote the comment.
	FromPage bool
}

// Conversation is a Page's Messenger thread with one person, messages oldest first.
type Conversation struct {
	ID       string
	PageID   string
	With     User
	Messages []Message
}

// Message is one message of a conversation.
type Message struct {
	ID          string
	From        User
	Text        string
	CreatedTime time.Time
	// FromPage is true when the Page sent the message.
	FromPage bool
}

// Sandbox is a simulated Graph API. It is an http.Handler; all its methods are
// safe for concurrent use.
type Sandbox struct {
	now          func() time.Time
	appSecret    string
	seed         uint64
	visitorPosts bool
	growReels    bool
	growRemovals bool
	growHides    bool
	ids          atomic.Uint64 // message ids and fbtrace ids

	mu  sync.RWMutex // guards st, gr and app
	st  store
	gr  grower
	app appAccess

	rec    recorder
	fl     faults
	thr    throttle
	stalls *StallWatch // Options.WatchStalls; nil without
}

// New returns a Sandbox seeded from opts.
func New(opts Options) *Sandbox {
	s := &Sandbox{
		now:          opts.Now,
		appSecret:    opts.AppSecret,
		seed:         uint64(opts.Seed),
		visitorPosts: opts.VisitorPosts,
		growReels:    opts.GrowReels,
		growRemovals: opts.GrowRemovals,
		growHides:    opts.GrowHides,
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.st.init()
	s.app.set(opts.AppNotLive, opts.AppTesters)
	s.rec.init()
	s.rec.logReads = opts.LogReads
	s.rec.logCalls = opts.LogCalls
	s.fl.init(opts.Seed, opts.Faults)
	block := opts.ThrottleBlock
	if block <= 0 {
		block = time.Minute
	}
	s.thr.init(opts.SendRate, opts.ReadRate, block)
	s.seedStore(opts)
	if opts.WatchStalls {
		s.stalls = NewStallWatch(StallTick, StallLate)
		s.stalls.Start()
	}
	return s
}

// Close stops what New started (the stall watch of Options.WatchStalls).
// The sandbox still answers and keeps what it recorded.
func (s *Sandbox) Close() { s.stalls.Stop() }

// Handler returns the sandbox as an http.Handler.
func (s *Sandbox) Handler() http.Handler { return s }

// rng returns a deterministic generator for the given purpose.
func seededRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream))
}
