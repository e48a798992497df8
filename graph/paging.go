package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"hash/maphash"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Field lists of the calls (SPEC.md, "The Graph API calls").
const (
	postFields         = "id,created_time,updated_time,can_reply_privately,from,message"
	commentFields      = "id,created_time,can_reply_privately,from,message,parent"
	conversationFields = "id,updated_time,participants,messages{message,from,created_time}"
	// hiddenCommentFields are commentFields with is_hidden, for the Pages
	// that skip the comments they hid (WithHidden). is_hidden is a field of
	// Graph's Comment node, readable with the Page's token
	// (https://developers.facebook.com/docs/graph-api/reference/comment/,
	// Fields: is_hidden): whether the comment is hidden from everyone but
	// its author and their friends (a Page hides spam or abuse so).
	hiddenCommentFields = commentFields + ",is_hidden"
	// reelFields are a Reel's (a Video's) fields the poll needs: which
	// Reels are recent enough for their comments to be read.
	reelFields = "id,created_time,updated_time"
	pageLimit  = "100"
)

// Feed walks a Page's feed, newest first, one page of up to 100 posts at a
// time, following paging.next to the end; break to stop early. On an error it
// yields it once, with a zero Post, and stops.
func (c *Client) Feed(ctx context.Context, token, pageID string) iter.Seq2[Post, error] {
	q := url.Values{"fields": {postFields}, "limit": {pageLimit}}
	return listing(c, ctx, token, pageFor(ctx, pageID), EndpointFeed, pageID, "feed", q, same[Post])
}

// AdsPosts walks a Page's ads posts (GET /{page-id}/ads_posts): the posts
// made for its ads, among them those made in Ads Manager and never published
// to the Page, which Feed does not list. It asks for the same fields as Feed,
// one page of up to 100 at a time, following paging.next to the end; break to
// stop early. On an error it yields it once, with a zero Post, and stops.
// Graph answers it only for a token with pages_manage_ads, pages_show_list
// and ads_management, of someone who can perform the ADVERTISE task on the
// Page; AdsPermissionRefused tells that refusal. It asks for
// include_inline_create=true: the posts made inline with an ad's new creative
// in Ads Manager (INLINE_CREATE, the usual dark post) are left out by
// Graph's default, which lists only those of Ads Manager's Page Posts tool.
func (c *Client) AdsPosts(ctx context.Context, token, pageID string) iter.Seq2[Post, error] {
	q := url.Values{"fields": {postFields}, "limit": {pageLimit}, "include_inline_create": {"true"}}
	return listing(c, ctx, token, pageFor(ctx, pageID), EndpointAdsPosts, pageID, "ads_posts", q, same[Post])
}

// Reels walks a Page's Reels (GET /{page-id}/video_reels), which Feed does
// not list: each one's id, created_time and updated_time, in a Post (a Reel
// is a Video: no from, no message), one page of up to 100 at a time,
// following paging.next to the end; break to stop early. On an error it
// yields it once, with a zero Post, and stops. Meta's Reels publishing guide
// lists a Page's Reels so, where the edge's reference says reading it is
// refused; ReelsRefused tells that refusal.
func (c *Client) Reels(ctx context.Context, token, pageID string) iter.Seq2[Post, error] {
	q := url.Values{"fields": {reelFields}, "limit": {pageLimit}}
	return listing(c, ctx, token, pageFor(ctx, pageID), EndpointReels, pageID, "video_reels", q, same[Post])
}

// Comments walks every comment of a post, replies included, one page of up to
// 100 at a time; break to stop early. On an error it yields it once, with a
// zero Comment, and stops. It asks for them newest first (filter=stream,
// order=reverse_chronological), but Graph lists comments that "can be ranked"
// ranked whatever the order asked for: each comment's ListOrder says the order
// the listing's summary gave, and only OrderReverseChronological is newest
// first. It asks live_filter=no_filter: on a live video Graph leaves out by
// default (filter_low_quality) the comments it takes for low quality, which
// the webhook delivers all the same; on any other object the parameter is
// ignored.
func (c *Client) Comments(ctx context.Context, token, postID string) iter.Seq2[Comment, error] {
	q := url.Values{
		"filter":      {"stream"},
		"order":       {OrderReverseChronological},
		"live_filter": {"no_filter"},
		"summary":     {"true"},
		"fields":      {commentFieldsFor(ctx)},
		"limit":       {pageLimit},
	}
	return listing(c, ctx, token, pageFor(ctx, pageOfPost(postID)), EndpointComments, postID, "comments", q, func(cm Comment, order string) Comment {
		cm.ListOrder = order
		return cm
	})
}

// The orders a comment listing's summary names.
const (
	OrderReverseChronological = "reverse_chronological"
	OrderChronological        = "chronological"
	OrderRanked               = "ranked"
)

// Conversations walks a Page's Messenger conversations, most recently updated
// first, each with its participants and its first page of messages; break to
// stop early. On an error it yields it once, with a zero Conversation, and
// stops.
func (c *Client) Conversations(ctx context.Context, token, pageID string) iter.Seq2[Conversation, error] {
	// Messenger's conversations only: a Page with an Instagram account
	// linked has those too, under platform=instagram.
	q := url.Values{"fields": {conversationFields}, "platform": {"messenger"}}
	return listing(c, ctx, token, pageFor(ctx, pageID), EndpointConversations, pageID, "conversations", q, func(w wireConversation, _ string) Conversation { return w.conversation() })
}

// wireConversation is a conversation as Graph sends it: participants and
// messages wrapped in {"data":[...]}.
type wireConversation struct {
	ID           string                   `json:"id"`
	UpdatedTime  Time                     `json:"updated_time"`
	Participants struct{ Data []User }    `json:"participants"`
	Messages     struct{ Data []Message } `json:"messages"`
}

func (w wireConversation) conversation() Conversation {
	return Conversation{ID: w.ID, UpdatedTime: w.UpdatedTime, Participants: w.Participants.Data, Messages: w.Messages.Data}
}

func same[T any](v T, _ string) T { return v }

// wirePage is one page of a Graph listing.
type wirePage[W any] struct {
	Data   *[]W `json:"data"`
	Paging struct {
		Cursors struct {
			After string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
	Summary struct {
		Order string `json:"order"`
	} `json:"summary"`
}

// listPage is one decoded page of a listing.
type listPage[W any] struct {
	items   []W
	next    string   // paging.next, "" on the last page
	after   string   // the after cursor
	order   string   // summary.order, "" when there is no summary
	skipped []string // the ids of the items that could not be decoded ("" where unreadable), left out of items
	skipErr error    // the first of their errors
}

// decodePage decodes one page of a listing. An item that cannot be decoded
// (a field in another shape than Graph's other items have) is left out and
// counted, and the page's other items are read: one such comment must not
// hide the rest of its post's comments, at every poll, for as long as Graph
// lists it. A page whose envelope cannot be decoded is an error: that is no
// one item's fault. So is a page none of whose items can be, unless the
// listing has read an item of an earlier page (readBefore): then Graph's
// shape is the one decoded, and a last page holding only the one odd comment
// must not fail its post's read at every poll.
func decodePage[W any](body []byte, readBefore bool) (listPage[W], error) {
	var p wirePage[W]
	err := json.Unmarshal(body, &p)
	if err == nil {
		if p.Data == nil {
			return listPage[W]{}, errors.New(`no "data" list`)
		}
		return listPage[W]{items: *p.Data, next: p.Paging.Next, after: p.Paging.Cursors.After, order: p.Summary.Order}, nil
	}
	var raw wirePage[json.RawMessage]
	if json.Unmarshal(body, &raw) != nil || raw.Data == nil {
		return listPage[W]{}, err
	}
	pg := listPage[W]{items: make([]W, 0, len(*raw.Data)), next: raw.Paging.Next, after: raw.Paging.Cursors.After, order: raw.Summary.Order}
	for _, r := range *raw.Data {
		var it W
		if ierr := json.Unmarshal(r, &it); ierr != nil {
			// Its id, when that much of it can be read, says which item
			// was left out.
			var id struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(r, &id)
			pg.skipped = append(pg.skipped, id.ID)
			if pg.skipErr == nil {
				pg.skipErr = ierr
			}
			continue
		}
		pg.items = append(pg.items, it)
	}
	if len(pg.items) == 0 && !readBefore {
		return listPage[W]{}, err
	}
	return pg, nil
}

// redactedDecodeErrors keeps a token's head out of a listing page's decode
// errors (the page's, err, and its first skipped item's, skipErr): a decoder
// may quote the value it cannot read clipped (Time does), and a token cut by
// the clip would no longer be whole where the redaction looks for it. When
// the answer holds a credential, the errors are taken from decoding the
// redacted answer again (decode), as getObject does for an object read; an
// error that goes away there is said to hold a credential.
func (c *Client) redactedDecodeErrors(body []byte, token string, err, skipErr error, decode func([]byte) (error, error)) (error, error) {
	rb := c.redactBody(body, token)
	if bytes.Equal(rb, body) {
		return err, skipErr
	}
	rerr, rskip := decode(rb)
	credential := errors.New("answer holds a credential")
	if err != nil {
		if err = rerr; err == nil {
			err = credential
		}
	}
	if skipErr != nil {
		if skipErr = rskip; skipErr == nil {
			skipErr = credential
		}
	}
	return err, skipErr
}

type skippedKey struct{}

// SkippedFunc is told of the items of a listing's page that could not be
// decoded: the listing's endpoint, the id whose edge it lists (the Page's
// for the feed and conversations, the post's for comments), the items' ids
// ("" for one whose id cannot be read either; one per item) and an *Error
// saying why (the first one's reason). Nothing in it holds a token.
type SkippedFunc func(endpoint, object string, ids []string, err error)

// WithSkippedItems returns a context whose listings (Feed, AdsPosts, Reels, Comments,
// Conversations) call skipped for each page that held items that could not
// be decoded; the page's other items are yielded as usual. A listing read
// again from its start reports its pages' skipped items again.
func WithSkippedItems(ctx context.Context, skipped SkippedFunc) context.Context {
	return context.WithValue(ctx, skippedKey{}, skipped)
}

type hiddenKey struct{}

// WithHidden returns a context whose comment reads (Comments, Comment) ask
// Graph for is_hidden too, so that Comment.IsHidden says whether the Page
// hid the comment. Without it they ask for the fields SPEC.md lists, and
// IsHidden is false.
func WithHidden(ctx context.Context) context.Context {
	return context.WithValue(ctx, hiddenKey{}, true)
}

// commentFieldsFor returns the fields of a comment read made with ctx.
func commentFieldsFor(ctx context.Context) string {
	if on, _ := ctx.Value(hiddenKey{}).(bool); on {
		return hiddenCommentFields
	}
	return commentFields
}

type pageGateKey struct{}

// WithPageGate returns a context whose listings (Feed, AdsPosts, Reels, Comments,
// Conversations) call gate before they fetch each page, the first included,
// so that a caller can pace its reads by the page fetched: a page can hold
// fewer items than asked for, or none, and still have more after it. An error
// from gate ends the listing with that error, as it is.
func WithPageGate(ctx context.Context, gate func(context.Context) error) context.Context {
	return context.WithValue(ctx, pageGateKey{}, gate)
}

// listing returns an iterator over the edge of id, converting each decoded W
// with its page's summary order.
// Only one page is held at a time: a page is fetched when the previous one has
// been yielded.
func listing[W, T any](c *Client, ctx context.Context, token, pageID, endpoint, id, edge string, q url.Values, conv func(W, string) T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		if id == "" {
			yield(zero, c.invalid(endpoint, "empty id"))
			return
		}
		u := ""
		if c.base != nil {
			u = c.objectURL(id, edge, q)
		}
		onPage := ""
		if endpoint == EndpointFeed || endpoint == EndpointConversations {
			// The edge is the Page's own: an answer that the object
			// cannot be reached is about the Page (pageUnreachable).
			onPage = id
		}
		gate, _ := ctx.Value(pageGateKey{}).(func(context.Context) error)
		empty := 0          // pages in a row with no item
		readBefore := false // an item of an earlier page was decoded
		// The pages read, by their URL's hash: a next link back to any of
		// them is a circle (A to B and back to A), which would be read
		// without end, every page with items, so the empty-page guard
		// never stops it.
		seed := maphash.MakeSeed()
		read := map[uint64]struct{}{}
		for {
			if gate != nil {
				if err := gate(ctx); err != nil {
					yield(zero, err)
					return
				}
			}
			read[maphash.String(seed, u)] = struct{}{}
			resp, err := c.do(ctx, request{method: http.MethodGet, endpoint: endpoint, pageID: pageID, url: u, token: token, page: onPage})
			if err != nil {
				if smaller, ok := smallerPage(err, u); ok {
					// The same page again, in smaller pieces; the next
					// links Graph gives keep the smaller limit.
					u = smaller
					continue
				}
				yield(zero, err)
				return
			}
			pg, err := decodePage[W](resp.body, readBefore)
			c.observed(resp, err != nil)
			if err != nil || pg.skipErr != nil {
				err, pg.skipErr = c.redactedDecodeErrors(resp.body, token, err, pg.skipErr, func(b []byte) (error, error) {
					rpg, rerr := decodePage[W](b, readBefore)
					return rerr, rpg.skipErr
				})
			}
			if err != nil {
				yield(zero, c.malformed(endpoint, resp, err, token, false))
				return
			}
			if len(pg.skipped) > 0 {
				if skipped, _ := ctx.Value(skippedKey{}).(SkippedFunc); skipped != nil {
					ids := make([]string, len(pg.skipped))
					for i, sid := range pg.skipped {
						ids[i] = clip(string(c.redactBody([]byte(sid), token)))
					}
					skipped(endpoint, id, ids, c.malformed(endpoint, resp, pg.skipErr, token, false))
				}
			}
			resp = nil
			if len(pg.items) == 0 {
				empty++
			} else {
				empty = 0
				readBefore = true
			}
			for _, it := range pg.items {
				if !yield(conv(it, pg.order), nil) {
					return
				}
			}
			next, after := pg.next, pg.after
			// Only a missing paging.next ends a listing: Graph filters
			// hidden, removed and privacy-restricted items out of a page
			// after cutting it, so a page can be short, or empty, and
			// still have more after it.
			if next == "" {
				return
			}
			if empty >= maxEmptyPages {
				// Graph has been seen answering empty pages without end,
				// each with a new next link (Meta's bug 482984005516645):
				// followed, the listing would read at the Page's whole
				// read rate until its usage headers throttle it.
				yield(zero, c.invalid(endpoint, strconv.Itoa(empty)+" pages in a row came back empty, each with a paging.next; stopped reading"))
				return
			}
			nu, ok := c.nextURL(next, u, after)
			if _, again := read[maphash.String(seed, nu)]; !ok || again {
				yield(zero, c.invalid(endpoint, "paging.next does not lead to a new page"))
				return
			}
			u = nu
		}
	}
}

// maxEmptyPages is how many empty pages in a row, each with a paging.next, a
// listing follows before it gives up with a permanent error: a page can be
// empty and still have more after it (Graph filters a page after cutting
// it), but twenty in a row, 500 hidden items at Graph's default page size,
// is Graph paging without end. A comments listing that ends so skips its
// post for this poll (not marked read, so the next poll reads it again); a
// feed or conversations listing that does fails the poll, loudly.
const maxEmptyPages = 20

// minPageLimit is the fewest items a page of a listing is asked for when Graph
// says pages are too heavy to build.
const minPageLimit = 5

// smallerPage reports whether err is Graph's answer to a page of a listing too
// heavy to build (code 1, "Please reduce the amount of data you're asking for,
// then retry your request"), which asking again for the same page gets again,
// and returns the URL of that page with a quarter of the items (Graph's
// default of 25 when u names no limit), down to minPageLimit. Not when the
// answer's usage headers say the app or Page is throttled (its class is then
// throttled, or it gives a time to wait): asking again would only add to it.
func smallerPage(err error, u string) (string, bool) {
	var ge *Error
	if !errors.As(err, &ge) || ge.Code != 1 || !strings.Contains(strings.ToLower(ge.Message), "reduce the amount of data") ||
		ge.Class != ClassTransient || ge.RetryAfter > 0 {
		return "", false
	}
	p, perr := url.Parse(u)
	if perr != nil {
		return "", false
	}
	q := p.Query()
	n, aerr := strconv.Atoi(q.Get("limit"))
	if aerr != nil || n <= 0 {
		n = 25
	}
	if n <= minPageLimit {
		return "", false
	}
	q.Set("limit", strconv.Itoa(max(minPageLimit, n/4)))
	p.RawQuery = q.Encode()
	return p.String(), true
}

// nextURL turns Graph's paging.next into the URL to fetch: credentials Graph
// echoes back are dropped (the token travels in the header, appsecret_proof is
// added again), and scheme and host are the configured ones, so a link can
// never carry the token elsewhere. When next does not parse, the after cursor
// on the current URL is used instead.
func (c *Client) nextURL(next, cur, after string) (string, bool) {
	u, err := url.Parse(next)
	if err != nil || u.Path == "" {
		if after == "" {
			return "", false
		}
		return setQuery(cur, "after", after), true
	}
	q := u.Query()
	for k := range q {
		// Graph's next links carry the token; any spelling of it goes.
		if strings.EqualFold(k, "access_token") || strings.EqualFold(k, "appsecret_proof") {
			q.Del(k)
		}
	}
	// Meta's paging reference shows next links with neither the version nor
	// the request's fields ("https://graph.facebook.com/{id}/albums?limit=25&after=..."):
	// followed as they are, the next page comes under the app's default
	// version with Graph's default fields, without can_reply_privately and
	// from. The listing's own parameters the link lacks are taken from the
	// page just read, and the configured version is put in front of a path
	// without one; the link's cursor and whatever it does carry stand.
	if cu, err := url.Parse(cur); err == nil {
		cq := cu.Query()
		for _, k := range listingParams {
			if !q.Has(k) && cq.Has(k) {
				q[k] = cq[k]
			}
		}
	}
	prefix := strings.TrimRight(c.base.Path, "/")
	rest := u.Path
	hasPrefix := prefix != "" && (u.Path == prefix || strings.HasPrefix(u.Path, prefix+"/"))
	if hasPrefix {
		rest = u.Path[len(prefix):]
	}
	if first, _, _ := strings.Cut(strings.TrimPrefix(rest, "/"), "/"); !isVersion(first) {
		rest = "/" + c.version + "/" + strings.TrimPrefix(rest, "/")
		u.Path, u.RawPath = rest, ""
		if hasPrefix {
			u.Path = prefix + rest
		}
	}
	u.Scheme, u.Host, u.User, u.Fragment = c.base.Scheme, c.base.Host, nil, ""
	// Graph's links start at the version (/v25.0/...); a base URL with a path
	// prefix (a proxy in front of Graph) keeps it, unless the link has it
	// already.
	if prefix != "" && u.Path != prefix && !strings.HasPrefix(u.Path, prefix+"/") {
		u.Path, u.RawPath = prefix+u.Path, ""
	}
	u.RawQuery = q.Encode()
	return u.String(), true
}

// listingParams are the query parameters the listings set (Feed, AdsPosts,
// Comments, Conversations) that a next link must keep: nextURL takes them
// from the page just read when the link lacks them. Cursors are not among
// them.
var listingParams = []string{"fields", "limit", "filter", "order", "summary", "platform", "include_inline_create", "live_filter"}

// isVersion reports whether a path segment is a Graph API version, such as
// v25.0.
func isVersion(seg string) bool {
	if len(seg) < 4 || seg[0] != 'v' {
		return false
	}
	major, minor, ok := strings.Cut(seg[1:], ".")
	if !ok || major == "" || minor == "" {
		return false
	}
	for _, r := range major + minor {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
