package sandbox

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"
)

// Shares of the seeded comment mix. Comments are mostly recent visitors' ones, so
// most of them are eligible; the rest exercise each rule of SPEC.md.
const (
	sharePageComment = 0.10 // written by the Page itself (can_reply_privately still true: the worker must look at from)
	shareNoReply     = 0.08 // can_reply_privately false
	shareOld         = 0.12 // older than the 7-day reply window, where the post is old enough
	shareReply       = 0.20 // replies to an earlier top-level comment
	shareVisitorPost = 0.20 // with Options.VisitorPosts
	seedSpan         = 30 * 24 * time.Hour
)

var pageNames = []string{
	"Bluebird Bakery", "Harbor Bikes", "Nordlicht Optik", "Casa Verde Plants",
	"Kite & Co", "Maison Lumière", "Tokyo Ramen Bar", "Atlas Climbing Gym",
}

var firstNames = []string{
	"Ana", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Giulia", "Hiro", "Inès", "Jamal",
	"Kasia", "Liam", "Mei", "Noah", "Olu", "Priya", "Quinn", "Rosa", "Sven", "Tariq",
	"Uma", "Vera", "Wen", "Ximena", "Yusuf", "Zoë",
}

var lastNames = []string{
	"Almeida", "Brown", "Chen", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ivanova",
	"Jones", "Kowalski", "López", "Müller", "Nakamura", "O'Brien", "Patel", "Rossi", "Smith",
}

// commentTexts: about a quarter mention a price or cost, so rule tests match.
var commentTexts = []string{
	"What's the price of this?",
	"How much does it cost to ship to Lyon?",
	"Love it! 😍",
	"Is this still available?",
	"price?",
	"Do you deliver on Sundays?",
	"Can I pay by card?",
	"Great post, thanks for sharing",
	"What are your opening hours?",
	"Cost for two people?",
	"Wow",
	"Do you have this in blue?",
	"My order never arrived \"again\" — please check",
	"Line one\nline two",
	"Où est le magasin ?",
	"Is the PRICE the same online?",
}

var postTexts = []string{
	"New arrivals this week!",
	"We're open late on Friday.",
	"Tell us what you think of our new menu.",
	"Giveaway: comment to win!",
	"Behind the scenes at the workshop.",
	"Summer sale starts now ☀️",
}

var visitorPostTexts = []string{
	"Hello, do you ship abroad? What's the price?",
	"Had a great time at your shop yesterday!",
	"Please contact me about my order.",
}

var messageTexts = []string{
	"Hi, is the shop open today?",
	"How much is the delivery?",
	"Thanks!",
	"Can you help me with my order?",
	"Hello",
}

// seedStore fills the store from opts. Every choice comes from one generator
// seeded with opts.Seed, and every time is relative to the clock's reading.
func (s *Sandbox) seedStore(opts Options) {
	r := seededRand(opts.Seed, 0)
	now := s.now().Unix()
	st := &s.st
	nPages := opts.Pages
	if nPages <= 0 {
		nPages = 1
	}
	nUsers := min(max(nPages*opts.Posts*opts.Comments/5, 20), 5000)
	for range nUsers {
		st.addUser(st.newUserID(r), randomName(r))
	}
	for p := range nPages {
		name := pageNames[p%len(pageNames)]
		if p >= len(pageNames) {
			name += " " + strconv.Itoa(p/len(pageNames)+1)
		}
		pg := st.addPage(st.newPageID(r), name, newToken(r))
		s.seedPosts(r, pg, now, opts)
		s.seedConversations(r, pg, now, opts.Conversations)
	}
}

func (s *Sandbox) seedPosts(r *rand.Rand, pg int32, now int64, opts Options) {
	st := &s.st
	created := make([]int64, opts.Posts)
	for i := range created {
		created[i] = now - int64(r.Float64()*seedSpan.Seconds())
	}
	sort.Slice(created, func(a, b int) bool { return created[a] < created[b] })
	for _, pc := range created {
		from, canReply, msg := byPage, false, postTexts[r.IntN(len(postTexts))]
		if opts.VisitorPosts && r.Float64() < shareVisitorPost {
			from = int32(r.IntN(len(st.users)))
			canReply = r.Float64() >= shareNoReply
			msg = visitorPostTexts[r.IntN(len(visitorPostTexts))]
		}
		pi := st.addPost(pg, from, msg, pc, canReply)
		s.seedComments(r, pi, now, opts.Comments)
	}
}

func (s *Sandbox) seedComments(r *rand.Rand, pi int32, now int64, n int) {
	st := &s.st
	pc := st.posts[pi].created
	age := now - pc
	week := int64(ReplyWindow.Seconds())
	type draft struct {
		created  int64
		from     int32
		canReply bool
		msg      string
	}
	ds := make([]draft, n)
	for j := range ds {
		d := draft{from: int32(r.IntN(len(st.users))), canReply: true, msg: commentTexts[r.IntN(len(commentTexts))]}
		if r.Float64() < sharePageComment {
			d.from = byPage
			d.msg = "Thanks for your message, we'll be in touch!"
		} else if r.Float64() < shareNoReply {
			d.canReply = false
		}
		if span := age - week - 3600; r.Float64() < shareOld && span > 0 {
			d.created = pc + int64(r.Float64()*float64(span))
		} else {
			// Skewed toward now: most comments are fresh.
			span := min(age, week-3600)
			u := r.Float64()
			d.created = now - int64(u*u*float64(span))
		}
		ds[j] = d
	}
	sort.SliceStable(ds, func(a, b int) bool { return ds[a].created < ds[b].created })
	var tops []int32
	for _, d := range ds {
		parent := int32(-1)
		if len(tops) > 0 && r.Float64() < shareReply {
			parent = tops[r.IntN(len(tops))]
		}
		ci := st.addComment(pi, parent, d.from, d.msg, d.created, d.canReply)
		if parent < 0 {
			tops = append(tops, ci)
		}
	}
}

// seedConversations gives each conversation a new person and a few messages: in
// about half the person wrote last inside the 24-hour window, in about a third
// outside it, and in the rest the Page answered last.
func (s *Sandbox) seedConversations(r *rand.Rand, pg int32, now int64, n int) {
	st := &s.st
	for range n {
		u := st.addUser(st.newUserID(r), randomName(r))
		ci := st.convFor(pg, u)
		var last int64
		roll := r.Float64()
		switch {
		case roll < 0.5:
			last = now - int64(r.Float64()*20*3600)
		case roll < 0.8:
			last = now - 25*3600 - int64(r.Float64()*9*24*3600)
		default:
			last = now - int64(r.Float64()*48*3600)
		}
		k := 1 + r.IntN(5)
		fromPage := roll >= 0.8
		t := last
		msgs := make([]message, k)
		for j := k - 1; j >= 0; j-- {
			text := messageTexts[r.IntN(len(messageTexts))]
			if fromPage {
				text = "Thanks for writing, we'll get back to you."
			}
			msgs[j] = message{id: s.newMessageID(), fromPage: fromPage, text: text, created: t}
			fromPage = !fromPage
			t -= 60 + int64(r.IntN(3*3600))
		}
		if msgs[0].fromPage { // a thread starts with the person
			msgs = msgs[1:]
		}
		if len(msgs) == 0 {
			msgs = []message{{id: s.newMessageID(), text: messageTexts[0], created: last}}
		}
		for _, m := range msgs {
			st.addMessage(ci, m)
		}
	}
}

func randomName(r *rand.Rand) string {
	return firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))]
}

// newPageID returns a fresh 16-digit Page id.
func (st *store) newPageID(r *rand.Rand) string {
	for {
		id := strconv.FormatInt(1_000_000_000_000_000+r.Int64N(9_000_000_000_000_000), 10)
		if _, ok := st.pageIdx[id]; !ok {
			return id
		}
	}
}

// newUserID returns a fresh 17-digit page-scoped user id (PSID).
func (st *store) newUserID(r *rand.Rand) string {
	for {
		id := strconv.FormatInt(10_000_000_000_000_000+r.Int64N(89_000_000_000_000_000), 10)
		if _, ok := st.userIdx[id]; !ok {
			return id
		}
	}
}

const tokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newToken returns a Page access token shaped like Meta's.
func newToken(r *rand.Rand) string {
	b := make([]byte, 4+100)
	copy(b, "EAAB")
	for i := 4; i < len(b); i++ {
		b[i] = tokenAlphabet[r.IntN(len(tokenAlphabet))]
	}
	return string(b)
}

// mix is splitmix64: spreads a counter into random-looking bits.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// newMessageID returns a fresh message id, "m_" and 22 URL-safe characters,
// deterministic for a seed and a sequence of calls.
func (s *Sandbox) newMessageID() string {
	n := s.ids.Add(1)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], mix(s.seed^n))
	binary.BigEndian.PutUint64(b[8:], mix(n^0x6d5f))
	return "m_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// newTraceID returns an fbtrace_id.
func (s *Sandbox) newTraceID() string {
	n := s.ids.Add(1)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], mix(s.seed^n^0xfb))
	return fmt.Sprintf("A%s", base64.RawURLEncoding.EncodeToString(b[:]))
}
