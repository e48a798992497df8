package sandbox

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Ids are numbers offset by these bases, so an id maps back to its slice index
// without a map: a Page of 100,000 comments costs a few megabytes.
const (
	postBase    int64 = 122_100_000_000_000_000 // post "<pageid>_<postBase+i>"
	commentBase int64 = 1_000_000_000_000_000   // comment "<postnum>_<commentBase+i>"
	convBase    int64 = 10_000_000_000_000_000  // conversation "t_<convBase+i>"
)

// byPage is the from value of an item written by the Page itself.
const byPage int32 = -1

type user struct {
	id, name string
	blocked  bool
}

type page struct {
	id, name, token string
	broken          bool
	posts           []int32 // ascending by (created, index)
	ads             []int32 // its ads posts, same order (AddAdsPost, PromotePost)
	adsRefusal      int     // the code ads_posts answers with, 0 when granted (DenyAdsPosts)
	reels           []int32 // its Reels, same order (AddReel)
	reelsRefusal    int     // the code video_reels answers with, 0 when read (DenyReels)
	noCommentIDs    bool    // its posts' comments are listed without their id (WithholdCommentIDs)
	convs           []int32
}

type post struct {
	page     int32
	from     int32 // user index or byPage
	msg      string
	created  int64 // Unix seconds
	updated  int64
	canReply bool
	conv     int32   // private reply's conversation, -1 if none
	all      []int32 // every comment, ascending by (created, index)
	top      []int32 // top-level comments, same order
	ranked   bool    // its comments are listed ranked (RankComments)
	deleted  bool    // DeletePost: gone from every listing, an unknown id
	noFrom   bool    // listed without from (HideAuthor)
	reel     bool    // a Reel (AddReel): a comment does not move its updated_time
	inline   bool    // made inline with an ad (AddInlineAdsPost): ads_posts lists it only with include_inline_create
}

type comment struct {
	created  int64
	post     int32
	parent   int32 // comment index, -1 for a top-level comment
	from     int32
	conv     int32 // private reply's conversation, -1 if none
	canReply bool
	hidden   bool // filtered out of listings after paging (HideComment)
	byPage   bool // hidden by the Page (SetHidden): listed, is_hidden true
	deleted  bool // DeleteComment: gone from every listing, an unknown id
	noFrom   bool // listed without from (HideAuthor)
	lowQual  bool // on a live video, taken for low quality (MarkLowQuality): listed only with live_filter=no_filter
	msg      string
}

type message struct {
	id       string
	fromPage bool
	text     string
	created  int64
}

type conv struct {
	page, user int32
	msgs       []message // oldest first
}

// store holds every object. The caller holds Sandbox.mu.
type store struct {
	pages    []page
	pageIdx  map[string]int32
	tokens   map[string]int32
	users    []user
	userIdx  map[string]int32
	posts    []post
	comments []comment
	replies  map[int32][]int32 // comment → its replies, ascending
	convs    []conv
	convIdx  map[[2]int32]int32 // (page, user) → conversation
}

func (st *store) init() {
	st.pageIdx = map[string]int32{}
	st.tokens = map[string]int32{}
	st.userIdx = map[string]int32{}
	st.replies = map[int32][]int32{}
	st.convIdx = map[[2]int32]int32{}
}

func (st *store) addPage(id, name, token string) int32 {
	i := int32(len(st.pages))
	st.pages = append(st.pages, page{id: id, name: name, token: token})
	st.pageIdx[id] = i
	st.tokens[token] = i
	return i
}

// userFor returns the index of u, adding it when new; byPage for the zero User
// or the Page itself.
func (st *store) userFor(pg int32, u User) int32 {
	if u.ID == "" || u.ID == st.pages[pg].id {
		return byPage
	}
	if i, ok := st.userIdx[u.ID]; ok {
		if u.Name != "" && st.users[i].name == "" {
			st.users[i].name = u.Name
		}
		return i
	}
	return st.addUser(u.ID, u.Name)
}

func (st *store) addUser(id, name string) int32 {
	i := int32(len(st.users))
	st.users = append(st.users, user{id: id, name: name})
	st.userIdx[id] = i
	return i
}

func (st *store) addPost(pg, from int32, msg string, created int64, canReply bool) int32 {
	i := int32(len(st.posts))
	st.posts = append(st.posts, post{page: pg, from: from, msg: msg, created: created, updated: created, canReply: canReply, conv: -1})
	p := &st.pages[pg]
	p.posts = insertSorted(p.posts, i, st.postCreated)
	return i
}

func (st *store) addComment(pi, parent, from int32, msg string, created int64, canReply bool) int32 {
	i := int32(len(st.comments))
	st.comments = append(st.comments, comment{created: created, post: pi, parent: parent, from: from, conv: -1, canReply: canReply, msg: msg})
	p := &st.posts[pi]
	p.all = insertSorted(p.all, i, st.commentCreated)
	if parent < 0 {
		p.top = insertSorted(p.top, i, st.commentCreated)
	} else {
		st.replies[parent] = insertSorted(st.replies[parent], i, st.commentCreated)
	}
	if created > p.updated && !p.reel {
		p.updated = created
	}
	return i
}

// convFor returns the conversation of Page pg with user u, creating it.
func (st *store) convFor(pg, u int32) int32 {
	if i, ok := st.convIdx[[2]int32{pg, u}]; ok {
		return i
	}
	i := int32(len(st.convs))
	st.convs = append(st.convs, conv{page: pg, user: u})
	st.convIdx[[2]int32{pg, u}] = i
	st.pages[pg].convs = append(st.pages[pg].convs, i)
	return i
}

func (st *store) addMessage(ci int32, m message) {
	c := &st.convs[ci]
	at := len(c.msgs)
	for at > 0 && c.msgs[at-1].created > m.created {
		at--
	}
	c.msgs = append(c.msgs, message{})
	copy(c.msgs[at+1:], c.msgs[at:])
	c.msgs[at] = m
}

func (st *store) postCreated(i int32) int64    { return st.posts[i].created }
func (st *store) commentCreated(i int32) int64 { return st.comments[i].created }

// convUpdated is a conversation's updated_time: its last message's.
func (st *store) convUpdated(i int32) int64 {
	m := st.convs[i].msgs
	if len(m) == 0 {
		return 0
	}
	return m[len(m)-1].created
}

// lastFromPerson is the time of the person's last message, 0 if none.
func (st *store) lastFromPerson(i int32) int64 {
	m := st.convs[i].msgs
	for j := len(m) - 1; j >= 0; j-- {
		if !m[j].fromPage {
			return m[j].created
		}
	}
	return 0
}

// insertSorted inserts i into list, kept ascending by (key, index). New items
// usually go last, so this is an append.
func insertSorted(list []int32, i int32, key func(int32) int64) []int32 {
	k := key(i)
	n := len(list)
	if n == 0 || key(list[n-1]) < k || key(list[n-1]) == k && list[n-1] < i {
		return append(list, i)
	}
	at := sort.Search(n, func(j int) bool {
		kj := key(list[j])
		return kj > k || kj == k && list[j] > i
	})
	list = append(list, 0)
	copy(list[at+1:], list[at:])
	list[at] = i
	return list
}

// Ids.

// postID is a post's id, "<page-id>_<n>", or a Reel's: its video id, the
// bare "<n>", as Meta's video_reels lists a Reel (a Video) and its comment
// ids begin with it.
func (st *store) postID(i int32) string {
	n := strconv.FormatInt(postBase+int64(i), 10)
	if st.posts[i].reel {
		return n
	}
	return st.pages[st.posts[i].page].id + "_" + n
}

func (st *store) commentID(i int32) string {
	return strconv.FormatInt(postBase+int64(st.comments[i].post), 10) + "_" + strconv.FormatInt(commentBase+int64(i), 10)
}

func convID(i int32) string { return "t_" + strconv.FormatInt(convBase+int64(i), 10) }

// object kinds for lookup.
const (
	objNone = iota
	objPage
	objPost
	objComment
	objConv
)

// lookup resolves an id to its kind and index: the object's own id only, as
// Graph writes it, not another spelling of its numbers ("+<n>", "0<n>",
// which strconv reads alike). A comment is also found by the other two
// spellings Graph reads (commentAlias).
func (st *store) lookup(id string) (kind int, i int32) {
	if ci, ok := st.commentAlias(id); ok {
		return objComment, ci
	}
	kind, i = st.resolve(id)
	var own string
	switch kind {
	case objPage:
		own = st.pages[i].id
	case objPost:
		own = st.postID(i)
	case objComment:
		own = st.commentID(i)
	case objConv:
		own = convID(i)
	}
	if own != id {
		return objNone, 0
	}
	return kind, i
}

// commentAlias finds a comment by the spellings of its id Graph reads
// besides <post>_<comment>, as Meta's comment reference lists them: the
// bare <comment>, and the older <page-id>_<post>_<comment> (deprecated,
// still read), its first part the id of the Page the post is on. Graph
// answers such a read with the comment's own id.
func (st *store) commentAlias(id string) (int32, bool) {
	parts := strings.Split(id, "_")
	if len(parts) != 1 && len(parts) != 3 {
		return 0, false
	}
	last := parts[len(parts)-1]
	n, err := strconv.ParseInt(last, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != last || n < commentBase || n-commentBase >= int64(len(st.comments)) {
		return 0, false
	}
	ci := int32(n - commentBase)
	c := &st.comments[ci]
	if c.deleted || len(parts) == 3 && (parts[0] != st.pages[st.posts[c.post].page].id || parts[1]+"_"+last != st.commentID(ci)) {
		return 0, false
	}
	return ci, true
}

// resolve is lookup without the check of the id's spelling.
func (st *store) resolve(id string) (kind int, i int32) {
	if pg, ok := st.pageIdx[id]; ok {
		return objPage, pg
	}
	if rest, ok := strings.CutPrefix(id, "t_"); ok {
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || n < convBase || n-convBase >= int64(len(st.convs)) {
			return objNone, 0
		}
		return objConv, int32(n - convBase)
	}
	left, right, ok := strings.Cut(id, "_")
	if !ok {
		// A Reel's video id: bare, and only a Reel's (a post's id names
		// its Page).
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < postBase || n-postBase >= int64(len(st.posts)) || !st.posts[n-postBase].reel || st.posts[n-postBase].deleted {
			return objNone, 0
		}
		return objPost, int32(n - postBase)
	}
	n, err := strconv.ParseInt(right, 10, 64)
	if err != nil {
		return objNone, 0
	}
	if pg, ok := st.pageIdx[left]; ok {
		if n < postBase || n-postBase >= int64(len(st.posts)) || st.posts[n-postBase].page != pg || st.posts[n-postBase].deleted || st.posts[n-postBase].reel {
			return objNone, 0
		}
		return objPost, int32(n - postBase)
	}
	pn, err := strconv.ParseInt(left, 10, 64)
	if err != nil || n < commentBase || n-commentBase >= int64(len(st.comments)) {
		return objNone, 0
	}
	ci := int32(n - commentBase)
	if int64(st.comments[ci].post)+postBase != pn || st.comments[ci].deleted {
		return objNone, 0
	}
	return objComment, ci
}

// pageOf returns the Page that owns an object.
func (st *store) pageOf(kind int, i int32) int32 {
	switch kind {
	case objPage:
		return i
	case objPost:
		return st.posts[i].page
	case objComment:
		return st.posts[st.comments[i].post].page
	case objConv:
		return st.convs[i].page
	}
	return -1
}

// Public views.

func (st *store) userOf(pg, u int32) User {
	if u == byPage {
		return User{ID: st.pages[pg].id, Name: st.pages[pg].name}
	}
	return User{ID: st.users[u].id, Name: st.users[u].name}
}

func (st *store) postView(i int32) Post {
	p := &st.posts[i]
	return Post{
		ID:                st.postID(i),
		PageID:            st.pages[p.page].id,
		From:              st.userOf(p.page, p.from),
		Message:           p.msg,
		CreatedTime:       unix(p.created),
		UpdatedTime:       unix(p.updated),
		CanReplyPrivately: p.canReply,
		FromPage:          p.from == byPage,
	}
}

func (st *store) commentView(i int32) Comment {
	c := &st.comments[i]
	pg := st.posts[c.post].page
	v := Comment{
		ID:                st.commentID(i),
		PostID:            st.postID(c.post),
		PageID:            st.pages[pg].id,
		From:              st.userOf(pg, c.from),
		Message:           c.msg,
		CreatedTime:       unix(c.created),
		CanReplyPrivately: c.canReply,
		FromPage:          c.from == byPage,
	}
	if c.parent >= 0 {
		v.ParentID = st.commentID(c.parent)
	}
	return v
}

func (st *store) convView(i int32) Conversation {
	c := &st.convs[i]
	v := Conversation{ID: convID(i), PageID: st.pages[c.page].id, With: st.userOf(c.page, c.user)}
	for _, m := range c.msgs {
		from := st.userOf(c.page, c.user)
		if m.fromPage {
			from = st.userOf(c.page, byPage)
		}
		v.Messages = append(v.Messages, Message{ID: m.id, From: from, Text: m.text, CreatedTime: unix(m.created), FromPage: m.fromPage})
	}
	return v
}

func unix(sec int64) time.Time { return time.Unix(sec, 0).UTC() }

// Accessors.

// Pages returns the Pages in the order they were seeded.
func (s *Sandbox) Pages() []Page {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Page, len(s.st.pages))
	for i, p := range s.st.pages {
		out[i] = Page{ID: p.id, Name: p.name, Token: p.token}
	}
	return out
}

// Posts returns the posts of a Page, newest first (the feed's order); nil for an
// unknown Page.
func (s *Sandbox) Posts(pageID string) []Post {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pg, ok := s.st.pageIdx[pageID]
	if !ok {
		return nil
	}
	list := s.st.pages[pg].posts
	out := make([]Post, 0, len(list))
	for j := len(list) - 1; j >= 0; j-- {
		out = append(out, s.st.postView(list[j]))
	}
	return out
}

// Post returns one post by id.
func (s *Sandbox) Post(id string) (Post, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	kind, i := s.st.lookup(id)
	if kind != objPost {
		return Post{}, false
	}
	return s.st.postView(i), true
}

// Comments returns every comment of a post, replies included, oldest first; nil
// for an unknown post.
func (s *Sandbox) Comments(postID string) []Comment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	kind, i := s.st.lookup(postID)
	if kind != objPost {
		return nil
	}
	out := make([]Comment, 0, len(s.st.posts[i].all))
	for _, ci := range s.st.posts[i].all {
		out = append(out, s.st.commentView(ci))
	}
	return out
}

// Comment returns one comment by id.
func (s *Sandbox) Comment(id string) (Comment, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	kind, i := s.st.lookup(id)
	if kind != objComment {
		return Comment{}, false
	}
	return s.st.commentView(i), true
}

// AllComments returns every comment on every post of a Page's feed, post by
// post (newest post first), each post's comments oldest first: not those of
// ads-only posts (AddAdsPost), which Comments gives.
func (s *Sandbox) AllComments(pageID string) []Comment {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pg, ok := s.st.pageIdx[pageID]
	if !ok {
		return nil
	}
	var out []Comment
	list := s.st.pages[pg].posts
	for j := len(list) - 1; j >= 0; j-- {
		for _, ci := range s.st.posts[list[j]].all {
			out = append(out, s.st.commentView(ci))
		}
	}
	return out
}

// Conversations returns a Page's conversations in the order they were created.
func (s *Sandbox) Conversations(pageID string) []Conversation {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pg, ok := s.st.pageIdx[pageID]
	if !ok {
		return nil
	}
	out := make([]Conversation, 0, len(s.st.pages[pg].convs))
	for _, ci := range s.st.pages[pg].convs {
		out = append(out, s.st.convView(ci))
	}
	return out
}

// Mutators.

// AddPage adds a Page with a fresh token and returns it.
func (s *Sandbox) AddPage(name string) Page {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := seededRand(int64(s.seed), 1000+uint64(len(s.st.pages)))
	id := s.st.newPageID(r)
	tok := newToken(r)
	s.st.addPage(id, name, tok)
	return Page{ID: id, Name: name, Token: tok}
}

// AddPost adds a post to a Page's feed and returns its id, or "" for an unknown
// Page. A zero from (or the Page's own id) makes it the Page's own post, which
// cannot be replied to privately; a visitor's post can.
func (s *Sandbox) AddPost(pageID string, from User, msg string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pg, ok := s.st.pageIdx[pageID]
	if !ok {
		return ""
	}
	u := s.st.userFor(pg, from)
	return s.st.postID(s.st.addPost(pg, u, msg, at.Unix(), u != byPage))
}

// AddComment adds a top-level comment to a post, moves the post's updated_time
// and returns the comment's id, or "" for an unknown post. A zero from (or the
// Page's own id) makes it the Page's own comment. It can be replied to privately
// unless SetCanReplyPrivately says otherwise.
func (s *Sandbox) AddComment(postID string, from User, msg string, at time.Time) string {
	return s.addComment(postID, objPost, from, msg, at)
}

// AddReply adds a reply to a comment (a reply to a reply goes to the top-level
// comment, as on Facebook) and returns its id, or "" for an unknown comment.
func (s *Sandbox) AddReply(commentID string, from User, msg string, at time.Time) string {
	return s.addComment(commentID, objComment, from, msg, at)
}

func (s *Sandbox) addComment(id string, want int, from User, msg string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, i := s.st.lookup(id)
	if kind != want {
		return ""
	}
	pi, parent := i, int32(-1)
	if kind == objComment {
		parent = i
		if p := s.st.comments[i].parent; p >= 0 {
			parent = p
		}
		pi = s.st.comments[i].post
	}
	pg := s.st.posts[pi].page
	ci := s.st.addComment(pi, parent, s.st.userFor(pg, from), msg, at.Unix(), true)
	return s.st.commentID(ci)
}

// AddMessage adds a message from a person to their conversation with a Page
// (creating it) and returns the conversation's and the message's ids; "" for an
// unknown Page or a zero person.
func (s *Sandbox) AddMessage(pageID string, from User, text string, at time.Time) (conversationID, messageID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pg, ok := s.st.pageIdx[pageID]
	if !ok {
		return "", ""
	}
	u := s.st.userFor(pg, from)
	if u == byPage {
		return "", ""
	}
	ci := s.st.convFor(pg, u)
	id := s.newMessageID()
	s.st.addMessage(ci, message{id: id, text: text, created: at.Unix()})
	return convID(ci), id
}

// AddPageMessage adds a message from the Page to its conversation with the
// person to (a PSID the Page already has a conversation with), written at at,
// as Messenger's automatic instant reply or away message, or someone at the
// Page answering by hand, would. It returns the message id, or "" when there
// is no such conversation. It is not a send: the send log does not count it.
func (s *Sandbox) AddPageMessage(pageID, to, text string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pg, ok := s.st.pageIdx[pageID]
	if !ok {
		return ""
	}
	for ci := range s.st.convs {
		c := &s.st.convs[ci]
		if c.page != pg || s.st.users[c.user].id != to {
			continue
		}
		id := s.newMessageID()
		s.st.addMessage(int32(ci), message{id: id, fromPage: true, text: text, created: at.Unix()})
		return id
	}
	return ""
}

// SetCanReplyPrivately sets can_reply_privately of a post or comment; false for
// an unknown id.
func (s *Sandbox) SetCanReplyPrivately(id string, v bool) bool {
	return s.setItem(id, func(p *post) { p.canReply = v }, func(c *comment) { c.canReply = v })
}

// setItem changes the post or comment id names, with onPost or onComment;
// false for an unknown id, or one of a kind whose func is nil.
func (s *Sandbox) setItem(id string, onPost func(*post), onComment func(*comment)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch kind, i := s.st.lookup(id); {
	case kind == objPost && onPost != nil:
		onPost(&s.st.posts[i])
	case kind == objComment && onComment != nil:
		onComment(&s.st.comments[i])
	default:
		return false
	}
	return true
}

// EditPost moves a post's or Reel's updated_time to at (never back), as an
// edit of its message or a Reel's caption does at Graph, without a comment.
// False for an unknown post id.
func (s *Sandbox) EditPost(id string, at time.Time) bool {
	return s.setItem(id, func(p *post) { p.updated = max(p.updated, at.Unix()) }, nil)
}

// EditComment replaces a comment's message, as its writer's edit does at
// Graph: its created_time, its place in its post's listing and the post's
// updated_time stay as they were; a read of it (by id or listed) gives the
// new message. False for an unknown comment id.
func (s *Sandbox) EditComment(id, msg string) bool {
	return s.setItem(id, nil, func(c *comment) { c.msg = msg })
}

// HideComment makes a comment invisible to the Page's token, as Meta does with
// a comment hidden or removed, or one whose author's privacy hides it: Graph
// filters such comments out of a page of comments after cutting the page, so
// a page can come back with fewer items than asked for, or none, and still
// have a paging.next. The comment can still be read by its id. False for an
// unknown comment id.
func (s *Sandbox) HideComment(id string) bool {
	return s.setItem(id, nil, func(c *comment) { c.hidden = true })
}

// MarkLowQuality makes a comment one of a live video's that Meta's filter
// takes for low quality: the comments edge leaves it out of its listings
// (after cutting the page, as other filtered comments) unless the read asks
// live_filter=no_filter, Graph's default being filter_low_quality for a live
// video's comments. Its webhook delivery, its read by id and its private
// reply are a comment's as usual. False for an unknown comment id.
func (s *Sandbox) MarkLowQuality(id string) bool {
	return s.setItem(id, nil, func(c *comment) { c.lowQual = true })
}

// ShowComment makes a comment HideComment hid visible in its post's listing
// again, with its original created_time and without moving the post's
// updated_time, as Graph does with a comment it lists late: one held for
// moderation or spam filtering and then shown, or one an eventually
// consistent listing did not have yet when the post's updated_time already
// counted it. False for an unknown comment id.
func (s *Sandbox) ShowComment(id string) bool {
	return s.setItem(id, nil, func(c *comment) { c.hidden = false })
}

// SetHidden hides a comment as a Page does from its moderation tools (or
// shows it again with false): it stays in its post's listings, as Graph
// lists a Page's hidden comments to the Page's token, and its is_hidden
// reads true when a read asks for that field. Nothing else changes: not the
// post's updated_time, not can_reply_privately, and a private reply to it
// is sent as to any other. (HideComment is another thing: a comment the
// listings leave out.) False for an unknown comment id.
func (s *Sandbox) SetHidden(id string, hidden bool) bool {
	return s.setItem(id, nil, func(c *comment) { c.byPage = hidden })
}

// RankComments makes Graph list a post's comments ranked, whatever order a
// listing asks for, as Meta does with comments that "can be ranked": the
// comments with the most replies first, then oldest first, and the listing's
// summary says "order": "ranked". Replies of a comment stay in time order.
// False for an unknown post id.
func (s *Sandbox) RankComments(postID string) bool {
	return s.setItem(postID, func(p *post) { p.ranked = true }, nil)
}

// HideAuthor makes Graph leave the from field out of a post or comment, as it
// does when its author's privacy settings keep them from the app; the post or
// comment can still be replied to privately. False for an unknown id.
func (s *Sandbox) HideAuthor(id string) bool {
	return s.setItem(id, func(p *post) { p.noFrom = true }, func(c *comment) { c.noFrom = true })
}

// DeleteComment deletes a comment, with its replies, as its author or the
// Page can: it is gone from its post's listings, and its id is an unknown
// one (code 100, subcode 33) to reads, to its replies edge and to a private
// reply; a paging cursor that named it is invalid from then on, as Meta's
// paging reference says of a cursor whose item was deleted. The post's
// updated_time does not move. False for an unknown comment id.
func (s *Sandbox) DeleteComment(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, ci := s.st.lookup(id)
	if kind != objComment {
		return false
	}
	s.st.deleteComment(ci)
	return true
}

// DeletePost deletes a post with its comments: it is gone from the Page's
// feed, and its id, and its comments' ids, are unknown ones (code 100,
// subcode 33) to reads, to its comments edge and to a private reply; a
// paging cursor that named it, or one of its comments, is invalid from then
// on. False for an unknown post id.
func (s *Sandbox) DeletePost(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, pi := s.st.lookup(id)
	if kind != objPost {
		return false
	}
	st := &s.st
	for _, ci := range st.posts[pi].all {
		st.comments[ci].deleted = true
	}
	p := &st.posts[pi]
	p.deleted, p.all, p.top = true, nil, nil
	pg := &st.pages[p.page]
	pg.posts = slices.DeleteFunc(slices.Clone(pg.posts), func(i int32) bool { return i == pi })
	pg.ads = slices.DeleteFunc(slices.Clone(pg.ads), func(i int32) bool { return i == pi })
	pg.reels = slices.DeleteFunc(slices.Clone(pg.reels), func(i int32) bool { return i == pi })
	return true
}

// AddAdsPost adds a post the Page made for an ad in Ads Manager and never
// published (a "dark post"): the Page's own, listed by its ads_posts edge and
// not by its feed; its id, comments and private replies work as a feed
// post's do. It returns the post's id, or "" for an unknown Page.
func (s *Sandbox) AddAdsPost(pageID, msg string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pg, ok := s.st.pageIdx[pageID]
	if !ok {
		return ""
	}
	pi := s.st.addPost(pg, byPage, msg, at.Unix(), false)
	p := &s.st.pages[pg]
	p.posts = slices.DeleteFunc(slices.Clone(p.posts), func(i int32) bool { return i == pi })
	p.ads = insertSorted(p.ads, pi, s.st.postCreated)
	return s.st.postID(pi)
}

// AddInlineAdsPost adds a post made inline with an ad (Meta's INLINE_CREATE
// post: created in Ads Manager with the ad's new creative, the most common
// "dark post"): the Page's own, never published, listed by its ads_posts
// edge only when the read asks include_inline_create=true (Graph's default
// is false, so ads_posts alone lists only the posts of Ads Manager's Page
// Posts tool, AddAdsPost) and never by its feed; its id, comments and
// private replies work as a feed post's do. It returns the post's id, or ""
// for an unknown Page.
func (s *Sandbox) AddInlineAdsPost(pageID, msg string, at time.Time) string {
	id := s.AddAdsPost(pageID, msg, at)
	if id == "" {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind, pi := s.st.lookup(id); kind == objPost {
		s.st.posts[pi].inline = true
	}
	return id
}

// PromotePost lists a post of a Page's feed in its ads_posts edge too, as a
// published post boosted as an ad is. False for an unknown post id.
func (s *Sandbox) PromotePost(postID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, pi := s.st.lookup(postID)
	if kind != objPost {
		return false
	}
	p := &s.st.pages[s.st.posts[pi].page]
	if !slices.Contains(p.ads, pi) {
		p.ads = insertSorted(p.ads, pi, s.st.postCreated)
	}
	return true
}

// AdsPosts returns the posts a Page's ads_posts edge lists asked with
// include_inline_create=true (AddInlineAdsPost's among them), newest first;
// nil for an unknown Page.
func (s *Sandbox) AdsPosts(pageID string) []Post {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pg, ok := s.st.pageIdx[pageID]
	if !ok {
		return nil
	}
	list := s.st.pages[pg].ads
	out := make([]Post, 0, len(list))
	for j := len(list) - 1; j >= 0; j-- {
		out = append(out, s.st.postView(list[j]))
	}
	return out
}

// DenyAdsPosts makes a Page's token lack the ads permissions (pages_manage_ads,
// ads_management), the ADVERTISE task, or its app the Marketing API's access:
// its ads_posts edge answers code with Graph's words for it, and every other
// call works as before. The codes: CodePermission (10), CodeAdsPermission
// (200), CodeAdsManagement (294, "requires the extended permission
// ads_management"), CodeAPIMethod (3, "does not have the capability"), or
// CodeInvalidParam (100, subcode 33: "Object with ID '<page>' does not exist,
// cannot be loaded due to missing permissions, ..."); any other code is
// taken for 200. Code 0 grants them again.
func (s *Sandbox) DenyAdsPosts(pageID string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch code {
	case 0, CodePermission, CodeInvalidParam, CodeAdsManagement, CodeAPIMethod:
	default:
		code = CodeAdsPermission
	}
	if pg, ok := s.st.pageIdx[pageID]; ok {
		s.st.pages[pg].adsRefusal = code
	}
}

// AddReel adds a Reel the Page published: listed by its video_reels edge,
// newest first, and not by its feed (Meta's feed leaves Reels out); its
// comments and their private replies work as a post's do, but a comment does
// not move its updated_time (Meta documents a Video's as "The last time the
// video or its caption was updated"), so a poll that went by it would miss
// them. Its id is a Video's bare number, as Meta's video_reels lists it
// (not a post's "<page-id>_<n>"), the first part of its comments' ids. It
// returns the Reel's id, or "" for an unknown Page.
func (s *Sandbox) AddReel(pageID, description string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	pg, ok := s.st.pageIdx[pageID]
	if !ok {
		return ""
	}
	pi := s.st.addPost(pg, byPage, description, at.Unix(), false)
	s.st.posts[pi].reel = true
	p := &s.st.pages[pg]
	p.posts = slices.DeleteFunc(slices.Clone(p.posts), func(i int32) bool { return i == pi })
	p.reels = insertSorted(p.reels, pi, s.st.postCreated)
	return s.st.postID(pi)
}

// Reels returns the Reels a Page's video_reels edge lists, newest first; nil
// for an unknown Page.
func (s *Sandbox) Reels(pageID string) []Post {
	s.mu.RLock()
	defer s.mu.RUnlock()
	pg, ok := s.st.pageIdx[pageID]
	if !ok {
		return nil
	}
	list := s.st.pages[pg].reels
	out := make([]Post, 0, len(list))
	for j := len(list) - 1; j >= 0; j-- {
		out = append(out, s.st.postView(list[j]))
	}
	return out
}

// DenyReels makes a Page's video_reels edge refuse to be read, as Meta's
// reference for it says it does: code CodeInvalidParam (100) answers
// "Unsupported get request", CodePermission (10) or CodeAdsPermission (200;
// any other code is taken for 200) a permission the token lacks. Every other
// call works as before, the Reels' comments too. Code 0 lists them again.
func (s *Sandbox) DenyReels(pageID string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code != 0 && code != CodePermission && code != CodeInvalidParam {
		code = CodeAdsPermission
	}
	if pg, ok := s.st.pageIdx[pageID]; ok {
		s.st.pages[pg].reelsRefusal = code
	}
}

// WithholdCommentIDs makes the comments listings of a Page's posts leave
// out each comment's id, as Meta's /{object-id}/comments reference says
// Graph does for a token of someone who cannot perform the MODERATE task
// on the Page ("The id field for the /PAGEPOST-ID/comments endpoint will no
// longer be returned for apps using the Page Public Content Access feature.
// To access the comment IDs for a Page post you must be able to perform the
// MODERATE task on the Page being queried."). The comments' other fields
// are listed as before, and a comment read by its id (a webhook's) still
// names it. False lists the ids again.
func (s *Sandbox) WithholdCommentIDs(pageID string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pg, ok := s.st.pageIdx[pageID]; ok {
		s.st.pages[pg].noCommentIDs = on
	}
}

// deleteComment marks a comment and its replies deleted and takes them out
// of the listings. Listings are copied, not changed in place: a page being
// written holds no reference to them (the caller holds the write lock), but
// the seeded lists may share backing arrays.
func (st *store) deleteComment(ci int32) {
	gone := map[int32]bool{ci: true}
	for _, r := range st.replies[ci] {
		gone[r] = true
	}
	for c := range gone {
		st.comments[c].deleted = true
	}
	drop := func(l []int32) []int32 {
		return slices.DeleteFunc(slices.Clone(l), func(i int32) bool { return gone[i] })
	}
	cm := &st.comments[ci]
	p := &st.posts[cm.post]
	p.all, p.top = drop(p.all), drop(p.top)
	if cm.parent >= 0 {
		st.replies[cm.parent] = drop(st.replies[cm.parent])
	}
	delete(st.replies, ci)
}

// SetBlocked makes a person unreachable: sends to them get code 551.
func (s *Sandbox) SetBlocked(userID string, blocked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.st.userIdx[userID]
	if !ok {
		i = s.st.addUser(userID, "")
	}
	s.st.users[i].blocked = blocked
}

// BreakToken makes every call with a Page's token fail with code 190 (session
// expired) while broken is true.
func (s *Sandbox) BreakToken(pageID string, broken bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pg, ok := s.st.pageIdx[pageID]; ok {
		s.st.pages[pg].broken = broken
	}
}
