package sandbox

import (
	"encoding/base64"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Page sizes: Graph's default and its cap.
const (
	defaultLimit = 25
	maxLimit     = 100
)

// cursorPrefix makes a cursor from another tool fail loudly.
const cursorPrefix = "sbx1:"

// encodeCursor returns the opaque cursor for an item index of a listing. The
// cursor names its listing (listingOf), so one handed out for another listing
// (another post's comments, the feed, a conversation's messages) is refused,
// as Graph's cursors, which point at an item of one edge, are no use on
// another.
func encodeCursor(listing string, i int32) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + listing + ":" + strconv.Itoa(int(i))))
}

// listingOf names a listing in its cursors: the edge and the object whose
// edge it is.
func listingOf(edge, id string) string { return edge + "/" + id }

func decodeCursor(listing, c string) (int32, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(c, "="))
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), cursorPrefix+listing+":")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 32)
	if err != nil || n < 0 {
		return 0, false
	}
	return int32(n), true
}

// pageReq is one request for a page of a listing.
type pageReq struct {
	listing           string // listingOf, for the cursors
	limit             int
	after, before     int32
	hasAfter, hasBefr bool
	reverse           bool // newest first
}

// pageResult is one page of a listing, items in listing order.
type pageResult struct {
	listing          string // listingOf, for the cursors
	items            []int32
	hasPrev, hasNext bool
}

// parsePageReq reads limit, after and before from request parameters for a
// listing (listingOf); max is the largest item index a cursor may name.
func parsePageReq(q url.Values, listing string, reverse bool, max int) (pageReq, *apiError) {
	pr := pageReq{listing: listing, limit: defaultLimit, reverse: reverse}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return pr, errParam("param limit must be a number")
		}
		pr.limit = limitOf(n)
	}
	var ok bool
	if v := q.Get("after"); v != "" {
		if pr.after, ok = decodeCursor(listing, v); !ok || int(pr.after) >= max {
			return pr, errParam("Invalid cursor: after")
		}
		pr.hasAfter = true
	} else if v := q.Get("before"); v != "" {
		if pr.before, ok = decodeCursor(listing, v); !ok || int(pr.before) >= max {
			return pr, errParam("Invalid cursor: before")
		}
		pr.hasBefr = true
	}
	return pr, nil
}

// cursorItem returns the item a request's cursor names, if it has one.
func (pr pageReq) cursorItem() (int32, bool) {
	switch {
	case pr.hasAfter:
		return pr.after, true
	case pr.hasBefr:
		return pr.before, true
	}
	return 0, false
}

// errGoneCursor answers a cursor whose item was deleted since it was handed out.
func errGoneCursor(pr pageReq) *apiError {
	if pr.hasAfter {
		return errParam("Invalid cursor: after")
	}
	return errParam("Invalid cursor: before")
}

func limitOf(n int) int {
	switch {
	case n <= 0:
		return defaultLimit
	case n > maxLimit:
		return maxLimit
	}
	return n
}

// pageOf returns one page of list, which is ascending by (key, index); the
// listing shows it ascending or, with pr.reverse, descending. A cursor names an
// item, found again by binary search, so a page costs O(limit + log n) whatever
// was added to the list since the cursor was handed out.
func pageOf(list []int32, key func(int32) int64, pr pageReq) pageResult {
	n := len(list)
	at := func(p int) int32 {
		if pr.reverse {
			return list[n-1-p]
		}
		return list[p]
	}
	start, end := 0, min(n, pr.limit)
	if pr.hasAfter || pr.hasBefr {
		c := pr.after
		if pr.hasBefr {
			c = pr.before
		}
		kc := key(c)
		lo := sort.Search(n, func(i int) bool {
			ki := key(list[i])
			return ki > kc || ki == kc && list[i] >= c
		})
		hi := lo
		if hi < n && list[hi] == c {
			hi++
		}
		// Listing positions: after the cursor starts at posAfter; the items
		// before it end at posBefore.
		posAfter, posBefore := hi, lo
		if pr.reverse {
			posAfter, posBefore = n-lo, n-hi
		}
		if pr.hasAfter {
			start, end = posAfter, min(n, posAfter+pr.limit)
		} else {
			start, end = max(0, posBefore-pr.limit), posBefore
		}
	}
	res := pageResult{listing: pr.listing, hasPrev: start > 0, hasNext: end < n}
	if end > start {
		res.items = make([]int32, 0, end-start)
		for p := start; p < end; p++ {
			res.items = append(res.items, at(p))
		}
	}
	return res
}

// sinceUntil narrows an ascending list to the items with since <= key <= until,
// from the since and until parameters (Unix seconds); absent ones do not narrow.
func sinceUntil(list []int32, key func(int32) int64, q url.Values) ([]int32, *apiError) {
	lo, hi := 0, len(list)
	if v := q.Get("since"); v != "" {
		t, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errParam("param since must be a Unix time")
		}
		lo = sort.Search(len(list), func(i int) bool { return key(list[i]) >= t })
	}
	if v := q.Get("until"); v != "" {
		t, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errParam("param until must be a Unix time")
		}
		hi = sort.Search(len(list), func(i int) bool { return key(list[i]) > t })
	}
	if hi < lo {
		hi = lo
	}
	return list[lo:hi], nil
}

// writePaging writes the "paging" member of a listing; link builds the URL of
// the page after (key "after") or before (key "before") a cursor.
func writePaging(e *enc, res pageResult, link func(key, cursor string) string) {
	if len(res.items) == 0 {
		return
	}
	first, last := encodeCursor(res.listing, res.items[0]), encodeCursor(res.listing, res.items[len(res.items)-1])
	e.key("paging")
	e.open()
	e.key("cursors")
	e.open()
	e.kstr("before", first)
	e.kstr("after", last)
	e.close()
	if res.hasPrev {
		e.kstr("previous", link("before", first))
	}
	if res.hasNext {
		e.kstr("next", link("after", last))
	}
	e.close()
}

// pageLink returns the absolute URL of another page of a listing: base and path,
// the query q without old cursors, the new cursor, and the credentials the
// request came with, as Graph writes its next and previous links: they carry
// the request's access_token (however it was given) and its appsecret_proof,
// so a client that follows a link as it is puts the token in a URL.
func (c *call) pageLink(path string, q url.Values, key, cursor string) string {
	v := url.Values{}
	for k, vs := range q {
		switch k {
		case "access_token", "appsecret_proof", "after", "before":
			continue
		}
		v[k] = vs
	}
	if c.token != "" {
		v.Set("access_token", c.token)
	}
	if proof := c.q.Get("appsecret_proof"); proof != "" {
		v.Set("appsecret_proof", proof)
	}
	v.Set(key, cursor)
	return c.base + path + "?" + v.Encode()
}
