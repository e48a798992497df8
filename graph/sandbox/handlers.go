package sandbox

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxBody is the largest request body read.
const maxBody = 1 << 20

// BUC usage types of X-Business-Use-Case-Usage.
const (
	usagePages     = "pages"
	usageMessenger = "messenger"
)

// Rate limit types of Read.Type, as X-Business-Use-Case-Usage names them.
const (
	UsageTypePages     = usagePages
	UsageTypeMessenger = usageMessenger
)

// bucOf is the rate limit an endpoint's calls fall under, as Meta documents
// them for a Page token: the Page's feed, comments and objects are the Pages
// API ("pages", refused with 80001); its conversations, their messages and the
// Send API are the Messenger Platform ("messenger", refused with 80006).
func bucOf(endpoint string) string {
	switch endpoint {
	case EndpointConversations, EndpointThread, EndpointMessages:
		return usageMessenger
	}
	return usagePages
}

// call is one request being served.
type call struct {
	s        *Sandbox
	w        http.ResponseWriter
	r        *http.Request
	q        url.Values // query, form body or JSON body
	segs     []string   // path after the version
	vprefix  string     // "/v25.0", or "" when the path had no version
	base     string     // scheme://host of the request, for paging links
	token    string
	now      time.Time
	buc      string // the rate limit the call falls under (bucOf)
	endpoint string // EndpointFeed, ...
}

// isVersion reports whether a path segment is an API version: v25, v25.0.
func isVersion(seg string) bool {
	if len(seg) < 2 || seg[0] != 'v' {
		return false
	}
	major, minor, dot := strings.Cut(seg[1:], ".")
	return allDigits(major) && (!dot || allDigits(minor))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ServeHTTP answers one Graph API request.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{s: s, w: w, r: r}
	c.segs = strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(c.segs) > 0 && isVersion(c.segs[0]) {
		c.vprefix, c.segs = "/"+c.segs[0], c.segs[1:]
	}
	endpoint := endpointOf(r.Method, c.segs)
	c.endpoint = endpoint
	c.q = r.URL.Query()
	s.rec.call(endpoint, c.q.Has("access_token"))
	if s.fl.delay(r.Context()) != nil {
		return
	}
	if s.fl.fail() {
		s.rec.add(&s.rec.failures)
		s.thr.setUsage(w.Header(), "", "", 1, 0)
		s.writeError(w, errTransient())
		return
	}
	if e := c.parseParams(); e != nil {
		s.writeError(w, e)
		return
	}
	c.now = s.now()
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	c.base = scheme + r.Host
	c.buc = bucOf(endpoint)
	if endpoint == EndpointObject && strings.HasPrefix(c.segs[0], "t_") {
		// A conversation read by its id is the Messenger Platform's
		// Conversations API, as its listing is.
		c.buc = usageMessenger
	}
	switch endpoint {
	case EndpointFeed:
		c.list(c.feed)
	case EndpointAdsPosts:
		c.list(c.adsPosts)
	case EndpointReels:
		c.list(c.reels)
	case EndpointComments:
		c.list(c.comments)
	case EndpointObject:
		c.read(c.object)
	case EndpointConversations:
		c.list(c.conversations)
	case EndpointThread:
		c.list(c.thread)
	case EndpointMessages:
		c.send()
	default:
		method := "get"
		if r.Method != http.MethodGet {
			method = "post"
		}
		s.writeError(w, errUnsupported(method))
	}
}

func endpointOf(method string, segs []string) string {
	switch {
	case method == http.MethodGet && len(segs) == 1 && segs[0] != "":
		return EndpointObject
	case len(segs) != 2:
		return EndpointUnknown
	case method == http.MethodGet && segs[1] == "feed":
		return EndpointFeed
	case method == http.MethodGet && segs[1] == "ads_posts":
		return EndpointAdsPosts
	case method == http.MethodGet && segs[1] == "video_reels":
		return EndpointReels
	case method == http.MethodGet && segs[1] == "comments":
		return EndpointComments
	case method == http.MethodGet && segs[1] == "conversations":
		return EndpointConversations
	case method == http.MethodGet && segs[1] == "messages":
		return EndpointThread
	case method == http.MethodPost && segs[1] == "messages":
		return EndpointMessages
	}
	return EndpointUnknown
}

// parseParams gathers the parameters from the query and, for a POST, the body
// (form, multipart or JSON; in JSON, objects are kept as their JSON text, as
// recipient and message are JSON strings in a form body). Body values come first.
func (c *call) parseParams() *apiError {
	if c.r.Method == http.MethodPost {
		body := url.Values{}
		mt := c.r.Header.Get("Content-Type")
		if mt != "application/x-www-form-urlencoded" && mt != "" { // what clients send; skip the parse
			var err error
			if mt, _, err = mime.ParseMediaType(mt); err != nil {
				return errParam("Invalid form body") // as r.ParseForm says
			}
		}
		c.r.Body = http.MaxBytesReader(c.w, c.r.Body, maxBody)
		switch mt {
		case "application/json":
			var m map[string]json.RawMessage
			b, err := readAll(c.r)
			if err == nil && len(strings.TrimSpace(string(b))) > 0 {
				err = json.Unmarshal(b, &m)
			}
			if err != nil {
				return errParam("Invalid JSON body")
			}
			for k, raw := range m {
				var str string
				if json.Unmarshal(raw, &str) == nil {
					body.Set(k, str)
				} else {
					body.Set(k, string(raw))
				}
			}
		case "multipart/form-data":
			if err := c.r.ParseMultipartForm(maxBody); err != nil {
				return errParam("Invalid multipart body")
			}
			body = c.r.PostForm
		case "application/x-www-form-urlencoded":
			// What r.ParseForm does for a POST body, without merging it
			// into r.Form with the query a second time. (Other types
			// carry no parameters, as with ParseForm.)
			b, err := readAll(c.r)
			if err == nil {
				body, err = url.ParseQuery(string(b))
			}
			if err != nil {
				return errParam("Invalid form body")
			}
		}
		for k, vs := range body {
			if len(c.q[k]) == 0 {
				c.q[k] = vs
				continue
			}
			c.q[k] = append(append([]string(nil), vs...), c.q[k]...)
		}
	}
	if h := c.r.Header.Get("Authorization"); h != "" {
		if kind, tok, ok := strings.Cut(h, " "); ok && (strings.EqualFold(kind, "Bearer") || strings.EqualFold(kind, "OAuth")) {
			c.token = strings.TrimSpace(tok)
		}
	} else {
		c.token = c.q.Get("access_token")
	}
	return nil
}

// readAll reads a request's body, into a buffer of its announced length when
// there is one.
func readAll(r *http.Request) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= maxBody {
		b := make([]byte, n)
		if _, err := io.ReadFull(r.Body, b); err != nil {
			return nil, err
		}
		return b, nil
	}
	return io.ReadAll(r.Body)
}

// read serves a GET under the read lock.
func (c *call) read(h func(st *store) (pageID string, body []byte, e *apiError)) {
	c.s.mu.RLock()
	pageID, body, e := h(&c.s.st)
	c.s.mu.RUnlock()
	c.finish(pageID, body, e)
}

// list answers a listing. One asking for more items than Faults.MaxListItems
// gets Graph's answer to a page too heavy to build, once its token and
// object have passed.
func (c *call) list(h func(st *store) (pageID string, body []byte, e *apiError)) {
	most := c.s.fl.maxListItems()
	if most <= 0 {
		c.read(h)
		return
	}
	n, err := strconv.Atoi(c.q.Get("limit"))
	if err != nil || n <= 0 {
		n = defaultLimit
	}
	if n <= most {
		c.read(h)
		return
	}
	c.read(func(st *store) (string, []byte, *apiError) {
		pageID, _, e := h(st)
		if e == nil {
			e = errTooMuchData()
		}
		return pageID, nil, e
	})
}

// jsonContentType is every JSON answer's Content-Type (header values are
// shared between answers; nothing modifies them in place).
var jsonContentType = []string{"application/json; charset=UTF-8"}

// finish writes an answer with the usage headers, of the call's rate limit type.
func (c *call) finish(pageID string, body []byte, e *apiError) {
	h := c.w.Header()
	if e != nil {
		if e.buc != "" {
			c.s.rec.throttle(pageID)
			c.s.thr.setUsage(h, pageID, e.buc, 100, e.regain)
		} else {
			c.s.thr.setUsage(h, pageID, c.buc, c.s.thr.usage(pageID, c.now), 0)
		}
		c.s.writeError(c.w, e)
		return
	}
	c.s.thr.setUsage(h, pageID, c.buc, c.s.thr.usage(pageID, c.now), 0)
	h["Content-Type"] = jsonContentType
	c.w.Write(body)
}

// tokenPage checks the access token and appsecret_proof and returns the Page the
// token belongs to.
func (c *call) tokenPage(st *store) (int32, *apiError) {
	if c.token == "" {
		return 0, errNoToken()
	}
	pg, ok := st.tokens[c.token]
	if !ok {
		return 0, errBadToken()
	}
	if st.pages[pg].broken {
		return 0, errExpiredToken()
	}
	if c.s.appSecret != "" {
		m := hmac.New(sha256.New, []byte(c.s.appSecret))
		m.Write([]byte(c.token))
		want := hex.EncodeToString(m.Sum(nil))
		if !hmac.Equal([]byte(strings.ToLower(c.q.Get("appsecret_proof"))), []byte(want)) {
			return 0, errProof()
		}
	}
	return pg, nil
}

// resolve checks the token, finds the object of the path's first segment (one of
// the kinds wanted), checks that the token is its Page's and that the Page is
// not blocked by Throttle (refused with the code of the call's rate limit).
//
// An object of another Page (its post, comment or conversation, or the Page
// node itself) is one the token cannot see: Graph answers it as an unknown id,
// 100/33 "Unsupported get request", with nothing about its owner. Only an edge
// of another Page (its feed, its conversations, a send in its name) says the
// token is not that Page's: 190.
func (c *call) resolve(st *store, method string, want ...int) (kind int, i int32, pageID string, e *apiError) {
	tp, e := c.tokenPage(st)
	if e != nil {
		return 0, 0, "", e
	}
	kind, i = st.lookup(c.segs[0])
	ok := false
	for _, k := range want {
		ok = ok || k == kind
	}
	if !ok {
		return 0, 0, "", errNoObject(method, c.segs[0])
	}
	owner := st.pageOf(kind, i)
	if owner != tp {
		if kind == objPage && len(c.segs) > 1 {
			return 0, 0, st.pages[owner].id, errWrongPage()
		}
		return 0, 0, "", errNoObject(method, c.segs[0])
	}
	pageID = st.pages[owner].id
	if d := c.s.thr.forcedBlock(pageID, c.now); d > 0 {
		if method == "get" {
			c.logRead(pageID, true, true)
		}
		return 0, 0, pageID, errThrottled(c.buc, d)
	}
	if method == "get" {
		d := c.s.thr.allowRead(pageID, c.buc, c.now)
		c.logRead(pageID, d > 0, false)
		if d > 0 {
			return 0, 0, pageID, errThrottled(c.buc, d)
		}
	}
	return kind, i, pageID, nil
}

// logRead records a read of the Page with Options.LogReads.
func (c *call) logRead(pageID string, refused, forced bool) {
	if c.s.rec.logReads {
		c.s.rec.read(Read{Time: c.now, PageID: pageID, Type: c.buc, Endpoint: c.endpoint, Refused: refused, Forced: forced})
	}
}

// fields parses and checks the fields parameter for a node type.
func (c *call) fields(node string, defaults ...string) ([]field, *apiError) {
	fs, err := parseFields(c.q.Get("fields"))
	if err != nil {
		return nil, errParam("Syntax error in fields: %v", err)
	}
	fs = withIDs(withDefaults(fs, defaults...))
	if e := checkFields(fs, node); e != nil {
		return nil, e
	}
	return fs, nil
}

func (c *call) feed(st *store) (string, []byte, *apiError) {
	return c.posts(st, "feed")
}

// adsPosts answers GET /{page-id}/ads_posts: the Page's ads posts (AddAdsPost,
// PromotePost, and AddInlineAdsPost's only with include_inline_create=true),
// newest first, as the feed lists its posts; refused with
// code 10, 200, 294, 3 or 100/33 for a Page whose token lacks the ads
// permissions (DenyAdsPosts).
func (c *call) adsPosts(st *store) (string, []byte, *apiError) {
	return c.posts(st, "ads_posts")
}

// reels answers GET /{page-id}/video_reels: the Page's Reels (AddReel),
// newest first, as the feed lists its posts; refused with code 100, 10 or
// 200 for a Page whose Reels cannot be read (DenyReels).
func (c *call) reels(st *store) (string, []byte, *apiError) {
	return c.posts(st, "video_reels")
}

// posts answers a listing of a Page's posts: its feed, its ads posts or its
// Reels.
func (c *call) posts(st *store, edge string) (string, []byte, *apiError) {
	_, pg, pageID, e := c.resolve(st, "get", objPage)
	if e != nil {
		return pageID, nil, e
	}
	posts := st.pages[pg].posts
	if edge == "ads_posts" {
		if code := st.pages[pg].adsRefusal; code != 0 {
			return pageID, nil, errAdsPermission(code, pageID)
		}
		posts = st.pages[pg].ads
		if v := c.q.Get("include_inline_create"); v != "true" && v != "1" {
			// Graph's default: the posts made inline with an ad are left
			// out (AddInlineAdsPost).
			posts = slices.DeleteFunc(slices.Clone(posts), func(i int32) bool { return st.posts[i].inline })
		}
	}
	if edge == "video_reels" {
		if code := st.pages[pg].reelsRefusal; code != 0 {
			return pageID, nil, errReelsRefused(code)
		}
		posts = st.pages[pg].reels
	}
	fs, e := c.postFields(edge == "video_reels")
	if e != nil {
		return pageID, nil, e
	}
	list, e := sinceUntil(posts, st.postCreated, c.q)
	if e != nil {
		return pageID, nil, e
	}
	pr, e := parsePageReq(c.q, listingOf(edge, pageID), true, len(st.posts))
	if e != nil {
		return pageID, nil, e
	}
	if it, ok := pr.cursorItem(); ok && st.posts[it].deleted {
		return pageID, nil, errGoneCursor(pr)
	}
	res := pageOf(list, st.postCreated, pr)
	j := enc{b: make([]byte, 0, 512+320*len(res.items))}
	j.open()
	j.key("data")
	j.openArray()
	for _, pi := range res.items {
		c.writePost(&j, st, pi, fs)
	}
	j.closeArray()
	writePaging(&j, res, c.selfLink)
	j.close()
	return pageID, j.b, nil
}

// postFields parses the fields asked of a post, or of a Reel: a Video to
// Graph, whose fields are a Video's (a description, no message) and whose
// default ones are those Meta's Reels guide shows video_reels answering with.
func (c *call) postFields(reel bool) ([]field, *apiError) {
	if reel {
		return c.fields(nodeVideo, "id", "description", "updated_time")
	}
	return c.fields(nodePost, "id", "created_time", "message")
}

// selfLink links to another page of the listing that was asked for.
func (c *call) selfLink(key, cursor string) string {
	return c.pageLink(c.r.URL.Path, c.q, key, cursor)
}

// commentList returns the comments of a post (every one with filter=stream, the
// top-level ones otherwise, as Graph's default filter is toplevel) or the
// replies of a comment.
func commentList(st *store, kind int, i int32, filter string) ([]int32, *apiError) {
	switch filter {
	case "", "toplevel", "stream":
	default:
		return nil, errParam("param filter must be one of {toplevel, stream}")
	}
	if kind == objComment {
		return st.replies[i], nil
	}
	if filter == "stream" {
		return st.posts[i].all, nil
	}
	return st.posts[i].top, nil
}

// Orders of a comment listing, as its summary names them.
const (
	orderChronological        = "chronological"
	orderReverseChronological = "reverse_chronological"
	orderRanked               = "ranked"
)

// commentOrder arranges list, the comments of a post or the replies of a
// comment ascending by (created, index), in the order Graph lists them: a
// ranked post's comments by rank whatever was asked for, others by time. It
// returns the arranged list, the key it is ascending by (for pageOf), whether
// the listing shows it reversed, and the order's name.
func (st *store) commentOrder(kind int, i int32, list []int32, reverse bool) ([]int32, func(int32) int64, bool, string) {
	if kind == objPost && st.posts[i].ranked {
		// Most replies first, then oldest first; replies counted in 2^32
		// steps keep the created time (under 2^32 s) as the tie-break.
		key := func(ci int32) int64 { return -int64(len(st.replies[ci]))<<32 + st.comments[ci].created }
		ranked := slices.Clone(list)
		slices.SortStableFunc(ranked, func(a, b int32) int { return cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a, b)) })
		return ranked, key, false, orderRanked
	}
	if reverse {
		return list, st.commentCreated, true, orderReverseChronological
	}
	return list, st.commentCreated, false, orderChronological
}

// reverseOrder reads an order parameter: chronological (the default) or
// reverse_chronological.
func reverseOrder(order string) (bool, *apiError) {
	switch order {
	case "", "chronological", "ranked":
		return false, nil
	case "reverse_chronological":
		return true, nil
	}
	return false, errParam("param order must be one of {chronological, reverse_chronological, ranked}")
}

// liveFilter reads a live_filter parameter: filter_low_quality (the default:
// a live video's low quality comments are left out) or no_filter, which
// lists them. It reports whether they are listed.
func liveFilter(v string) (bool, *apiError) {
	switch v {
	case "", "filter_low_quality":
		return false, nil
	case "no_filter":
		return true, nil
	}
	return false, errParam("param live_filter must be one of {filter_low_quality, no_filter}")
}

func (c *call) comments(st *store) (string, []byte, *apiError) {
	kind, i, pageID, e := c.resolve(st, "get", objPost, objComment)
	if e != nil {
		return pageID, nil, e
	}
	fs, e := c.fields(nodeComment, "id", "created_time", "from", "message")
	if e != nil {
		return pageID, nil, e
	}
	if kind == objPost && st.pages[st.pageOf(kind, i)].noCommentIDs {
		// A post's comments, for a token that cannot moderate the Page
		// (WithholdCommentIDs): listed without their id.
		fs = slices.DeleteFunc(slices.Clone(fs), func(f field) bool { return f.name == "id" })
	}
	all, e := commentList(st, kind, i, c.q.Get("filter"))
	if e != nil {
		return pageID, nil, e
	}
	reverse, e := reverseOrder(c.q.Get("order"))
	if e != nil {
		return pageID, nil, e
	}
	lowQual, e := liveFilter(c.q.Get("live_filter"))
	if e != nil {
		return pageID, nil, e
	}
	list, e := sinceUntil(all, st.commentCreated, c.q)
	if e != nil {
		return pageID, nil, e
	}
	list, key, reverse, order := st.commentOrder(kind, i, list, reverse)
	pr, e := parsePageReq(c.q, listingOf("comments", st.objectID(kind, i)), reverse, len(st.comments))
	if e != nil {
		return pageID, nil, e
	}
	if it, ok := pr.cursorItem(); ok && st.comments[it].deleted {
		return pageID, nil, errGoneCursor(pr)
	}
	res := pageOf(list, key, pr)
	j := enc{b: make([]byte, 0, 512+320*len(res.items))}
	j.open()
	j.key("data")
	j.openArray()
	for _, ci := range res.items {
		if st.comments[ci].hidden || st.comments[ci].lowQual && !lowQual {
			continue // filtered after paging, as Graph does
		}
		c.writeComment(&j, st, ci, fs)
	}
	j.closeArray()
	writePaging(&j, res, c.selfLink)
	if v := c.q.Get("summary"); v == "true" || v == "1" {
		writeSummary(&j, len(all), order)
	}
	j.close()
	return pageID, j.b, nil
}

func writeSummary(j *enc, total int, order string) {
	j.key("summary")
	j.open()
	j.kstr("order", order)
	j.key("total_count")
	j.int(int64(total))
	j.key("can_comment")
	j.bool(true)
	j.close()
}

func (c *call) object(st *store) (string, []byte, *apiError) {
	kind, i, pageID, e := c.resolve(st, "get", objPage, objPost, objComment, objConv)
	if e != nil {
		return pageID, nil, e
	}
	var j enc
	switch kind {
	case objPage:
		fs, e := c.fields(nodePage, "id", "name")
		if e != nil {
			return pageID, nil, e
		}
		j.open()
		for _, f := range fs {
			switch f.name {
			case "id":
				j.kstr("id", pageID)
			case "name":
				j.kstr("name", st.pages[i].name)
			}
		}
		j.close()
	case objPost:
		fs, e := c.postFields(st.posts[i].reel)
		if e != nil {
			return pageID, nil, e
		}
		c.writePost(&j, st, i, fs)
	case objComment:
		fs, e := c.fields(nodeComment, "id", "created_time", "from", "message")
		if e != nil {
			return pageID, nil, e
		}
		c.writeComment(&j, st, i, fs)
	case objConv:
		fs, e := c.fields(nodeConversation, "id", "link", "updated_time")
		if e != nil {
			return pageID, nil, e
		}
		c.writeConversation(&j, st, i, fs)
	}
	return pageID, j.b, nil
}

func (c *call) conversations(st *store) (string, []byte, *apiError) {
	_, pg, pageID, e := c.resolve(st, "get", objPage)
	if e != nil {
		return pageID, nil, e
	}
	fs, e := c.fields(nodeConversation, "id", "link", "updated_time")
	if e != nil {
		return pageID, nil, e
	}
	list := st.pages[pg].convs
	switch strings.ToLower(c.q.Get("platform")) { // MESSENGER as the reference's enum, messenger as its guide
	case "", "messenger":
	case "instagram":
		list = nil // the sandbox's Pages have no Instagram account
	default:
		return pageID, nil, errParam("param platform must be one of {instagram, messenger}")
	}
	if uid := c.q.Get("user_id"); uid != "" {
		list = nil
		if u, ok := st.userIdx[uid]; ok {
			if ci, ok := st.convIdx[[2]int32{pg, u}]; ok {
				list = []int32{ci}
			}
		}
	}
	// Updated times move, so the order is made per request; a Page has far
	// fewer conversations than comments.
	sorted := append([]int32(nil), list...)
	sort.Slice(sorted, func(a, b int) bool {
		ua, ub := st.convUpdated(sorted[a]), st.convUpdated(sorted[b])
		return ua < ub || ua == ub && sorted[a] < sorted[b]
	})
	pr, e := parsePageReq(c.q, listingOf("conversations", pageID), true, len(st.convs))
	if e != nil {
		return pageID, nil, e
	}
	res := pageOf(sorted, st.convUpdated, pr)
	var j enc
	j.open()
	j.key("data")
	j.openArray()
	for _, ci := range res.items {
		c.writeConversation(&j, st, ci, fs)
	}
	j.closeArray()
	writePaging(&j, res, c.selfLink)
	j.close()
	return pageID, j.b, nil
}

// thread lists a conversation's messages, newest first.
func (c *call) thread(st *store) (string, []byte, *apiError) {
	_, ci, pageID, e := c.resolve(st, "get", objConv)
	if e != nil {
		return pageID, nil, e
	}
	fs, e := c.fields(nodeMessage, "id", "created_time")
	if e != nil {
		return pageID, nil, e
	}
	n := len(st.convs[ci].msgs)
	pr, e := parsePageReq(c.q, listingOf("messages", convID(ci)), true, n)
	if e != nil {
		return pageID, nil, e
	}
	res := pageOf(positions(n), position, pr)
	var j enc
	j.open()
	j.key("data")
	j.openArray()
	for _, p := range res.items {
		c.writeMessage(&j, st, ci, p, fs)
	}
	j.closeArray()
	writePaging(&j, res, c.selfLink)
	j.close()
	return pageID, j.b, nil
}

// objectID is the id of a post or comment, as its listings' cursors name it.
func (st *store) objectID(kind int, i int32) string {
	if kind == objComment {
		return st.commentID(i)
	}
	return st.postID(i)
}

// positions returns 0..n-1, the listing of a conversation's messages.
func positions(n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	return p
}

func position(i int32) int64 { return int64(i) }

// itoa is strconv.Itoa, short for paging links.
func itoa(n int) string { return strconv.Itoa(n) }
