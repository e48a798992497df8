package sandbox

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSeedingIsDeterministic(t *testing.T) {
	clk := newClock()
	opts := Options{Pages: 2, Posts: 30, Comments: 40, Conversations: 10, VisitorPosts: true, Seed: 7, Now: clk.Now}
	a, b := New(opts), New(opts)
	if !reflect.DeepEqual(a.Pages(), b.Pages()) {
		t.Fatal("same seed, different Pages")
	}
	for _, p := range a.Pages() {
		if !reflect.DeepEqual(a.AllComments(p.ID), b.AllComments(p.ID)) {
			t.Fatal("same seed, different comments")
		}
		if !reflect.DeepEqual(a.Conversations(p.ID), b.Conversations(p.ID)) {
			t.Fatal("same seed, different conversations")
		}
	}
	opts.Seed = 8
	if c := New(opts); reflect.DeepEqual(a.Pages(), c.Pages()) {
		t.Fatal("different seeds, same Pages")
	}
}

func TestSeedMix(t *testing.T) {
	clk := newClock()
	sb := New(Options{Pages: 3, Posts: 40, Comments: 50, Conversations: 20, VisitorPosts: true, Seed: 1, Now: clk.Now})
	now := clk.Now()
	pageID := regexp.MustCompile(`^[1-9][0-9]{15}$`)
	var total, fromPage, noReply, old, replies, price, eligibleN, visitorPosts, inWindow, outWindow int
	for _, p := range sb.Pages() {
		if !pageID.MatchString(p.ID) || !strings.HasPrefix(p.Token, "EAAB") || p.Name == "" {
			t.Errorf("page %+v: bad id, token or name", p)
		}
		posts := sb.Posts(p.ID)
		if len(posts) != 40 {
			t.Fatalf("page %s: %d posts, want 40", p.ID, len(posts))
		}
		for i, po := range posts {
			if i > 0 && po.CreatedTime.After(posts[i-1].CreatedTime) {
				t.Errorf("posts not newest first at %d", i)
			}
			if !strings.HasPrefix(po.ID, p.ID+"_") {
				t.Errorf("post id %s does not start with the page id", po.ID)
			}
			if now.Sub(po.CreatedTime) > 31*24*time.Hour || po.UpdatedTime.Before(po.CreatedTime) {
				t.Errorf("post %s: created %v updated %v", po.ID, po.CreatedTime, po.UpdatedTime)
			}
			if !po.FromPage {
				visitorPosts++
			}
			cs := sb.Comments(po.ID)
			if len(cs) != 50 {
				t.Fatalf("post %s: %d comments, want 50", po.ID, len(cs))
			}
			for _, c := range cs {
				total++
				if c.PostID != po.ID || c.CreatedTime.Before(po.CreatedTime) || c.CreatedTime.After(po.UpdatedTime) {
					t.Errorf("comment %+v does not fit post %+v", c, po)
				}
				switch {
				case c.FromPage:
					fromPage++
				case !c.CanReplyPrivately:
					noReply++
				}
				if now.Sub(c.CreatedTime) > ReplyWindow {
					old++
				}
				if c.ParentID != "" {
					replies++
				}
				if regexp.MustCompile(`(?i)price|cost`).MatchString(c.Message) {
					price++
				}
				if eligible(c, now) {
					eligibleN++
				}
			}
		}
		for _, cv := range sb.Conversations(p.ID) {
			var last time.Time
			for _, m := range cv.Messages {
				if !m.FromPage {
					last = m.CreatedTime
				}
			}
			if now.Sub(last) <= MessagingWindow {
				inWindow++
			} else {
				outWindow++
			}
		}
	}
	share := func(n int) float64 { return float64(n) / float64(total) }
	for _, c := range []struct {
		name     string
		got      float64
		min, max float64
	}{
		{"from page", share(fromPage), 0.05, 0.16},
		{"no private reply", share(noReply), 0.03, 0.13},
		{"older than 7 days", share(old), 0.05, 0.25},
		{"replies", share(replies), 0.12, 0.28},
		{"price or cost", share(price), 0.15, 0.45},
		{"eligible", share(eligibleN), 0.5, 0.85},
	} {
		if c.got < c.min || c.got > c.max {
			t.Errorf("%s: share %.2f, want %.2f to %.2f", c.name, c.got, c.min, c.max)
		}
	}
	if visitorPosts == 0 || visitorPosts > 60 {
		t.Errorf("%d visitor posts of 120", visitorPosts)
	}
	if inWindow == 0 || outWindow == 0 {
		t.Errorf("conversations: %d inside the window, %d outside: want both", inWindow, outWindow)
	}
}

func TestFeedPaging(t *testing.T) {
	e := newEnv(t, Options{Posts: 57, Comments: 3, Seed: 2})
	p := e.page(0)
	want := []string{}
	for _, po := range e.sb.Posts(p.ID) {
		want = append(want, po.ID)
	}
	for _, tc := range []struct {
		name  string
		query string
		pages int
	}{
		{"default limit", "", 3},
		{"limit 1", "&limit=1", 57},
		{"limit 10", "&limit=10", 6},
		{"limit 57", "&limit=57", 1},
		{"limit above the cap", "&limit=1000", 1},
		{"without version", "", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/v25.0/" + p.ID + "/feed?fields=id,created_time,updated_time,can_reply_privately,from{id,name},message" + tc.query
			if tc.name == "without version" {
				path = strings.TrimPrefix(path, "/v25.0")
			}
			pages := 0
			var got []string
			for next := path; next != ""; pages++ {
				a := e.get(next, p.Token)
				if a.status != http.StatusOK {
					t.Fatalf("%d %s", a.status, a.raw)
				}
				for _, it := range a.data() {
					got = append(got, it["id"].(string))
					if _, err := time.Parse(TimeLayout, it["created_time"].(string)); err != nil {
						t.Fatalf("created_time: %v", err)
					}
					if from := it["from"].(map[string]any); from["id"] != p.ID || from["name"] != p.Name {
						t.Fatalf("from = %v", from)
					}
					if it["can_reply_privately"] != false {
						t.Fatalf("the Page's own post: can_reply_privately %v", it["can_reply_privately"])
					}
				}
				next = nextOf(a.body)
				if next != "" && !strings.HasPrefix(next, e.srv.URL+"/") {
					t.Fatalf("next %q is not an absolute URL on the server", next)
				}
				next = linkWithoutToken(t, next, p.Token)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("walked %d posts, want each of %d once, newest first", len(got), len(want))
			}
			if pages != tc.pages {
				t.Errorf("%d pages, want %d", pages, tc.pages)
			}
		})
	}
}

// TestPageSizes: a listing's page holds 25 items unless limit says otherwise,
// and never more than 100, whatever limit asks for (Graph's default and cap).
func TestPageSizes(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Comments: 130, Seed: 14})
	p := e.page(0)
	post := e.sb.Posts(p.ID)[0].ID
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"", 25},
		{"&limit=0", 25},
		{"&limit=99", 99},
		{"&limit=100", 100},
		{"&limit=101", 100},
		{"&limit=1000", 100},
	} {
		a := e.get("/v25.0/"+post+"/comments?filter=stream"+tc.query, p.Token)
		if n := len(a.data()); n != tc.want || nextOf(a.body) == "" {
			t.Errorf("limit %q: %d comments, want %d, and a next page: %s", tc.query, n, tc.want, nextOf(a.body))
		}
	}
}

// TestCursors: paging.cursors.after and .before name a page's last and first
// items, so after= gives the page that next gives and before= the page before
// it; previous is there on every page but the first and walks back over the
// same pages.
func TestCursors(t *testing.T) {
	e := newEnv(t, Options{Posts: 10, Seed: 15})
	p := e.page(0)
	var pages [][]string
	var bodies []map[string]any
	for next := "/v25.0/" + p.ID + "/feed?limit=3"; next != ""; next = nextOf(bodies[len(bodies)-1]) {
		a := e.get(next, p.Token)
		pages, bodies = append(pages, ids(a.data())), append(bodies, a.body)
	}
	if len(pages) != 4 {
		t.Fatalf("%d pages of 3 from 10 posts, want 4", len(pages))
	}
	paging := func(i int) map[string]any { return bodies[i]["paging"].(map[string]any) }
	cursor := func(i int, key string) string { return paging(i)["cursors"].(map[string]any)[key].(string) }
	for i := range pages {
		prev, hasPrev := paging(i)["previous"].(string)
		if hasPrev != (i > 0) {
			t.Fatalf("page %d: previous %q", i, prev)
		}
		if i < len(pages)-1 {
			a := e.get("/v25.0/"+p.ID+"/feed?limit=3&after="+cursor(i, "after"), p.Token)
			if got := ids(a.data()); !slices.Equal(got, pages[i+1]) {
				t.Fatalf("after page %d's cursor: %v, want %v", i, got, pages[i+1])
			}
		}
		if i > 0 {
			a := e.get("/v25.0/"+p.ID+"/feed?limit=3&before="+cursor(i, "before"), p.Token)
			if got := ids(a.data()); !slices.Equal(got, pages[i-1]) {
				t.Fatalf("before page %d's cursor: %v, want %v", i, got, pages[i-1])
			}
			if got := ids(e.get(prev, p.Token).data()); !slices.Equal(got, pages[i-1]) {
				t.Fatalf("previous of page %d: %v, want %v", i, got, pages[i-1])
			}
		}
	}
}

// TestBadCursors: a cursor that does not name an item of the listing is
// answered with code 100, as Graph answers a cursor it did not hand out.
func TestBadCursors(t *testing.T) {
	e := newEnv(t, Options{Posts: 5, Seed: 16})
	p := e.page(0)
	cur := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, q := range []string{
		"after=" + cur("sbx1:-1"),
		"before=" + cur("sbx1:-1"),
		"after=" + cur("sbx1:5"), // past the last post
		"before=" + cur("sbx1:5"),
		"after=" + cur("other:1"),
		"after=%21%21",
	} {
		a := e.get("/v25.0/"+p.ID+"/feed?"+q, p.Token)
		if code, _ := a.code(); code != CodeInvalidParam || a.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", q, a.status, a.raw)
		}
	}
}

func TestFeedDefaultsAndUnknownField(t *testing.T) {
	e := newEnv(t, Options{Posts: 2, Seed: 2})
	p := e.page(0)
	a := e.get("/v25.0/"+p.ID+"/feed", p.Token)
	for _, it := range a.data() {
		if _, ok := it["from"]; ok || it["id"] == nil || it["created_time"] == nil {
			t.Fatalf("default fields: %v", it)
		}
	}
	a = e.get("/v25.0/"+p.ID+"/feed?fields=id,bogus", p.Token)
	if code, _ := a.code(); code != 100 || a.status != 400 || !strings.Contains(a.raw, "nonexisting field (bogus)") {
		t.Fatalf("unknown field: %d %s", a.status, a.raw)
	}
	a = e.get("/v25.0/"+p.ID+"/feed?fields=id,comments{id", p.Token)
	if code, _ := a.code(); code != 100 {
		t.Fatalf("syntax error: %d %s", a.status, a.raw)
	}
}

func TestUpdatedTimeMovesWithComments(t *testing.T) {
	e := newEnv(t, Options{Posts: 5, Seed: 3})
	p := e.page(0)
	posts := e.sb.Posts(p.ID)
	oldest := posts[len(posts)-1]
	at := e.clk.Now().Add(-time.Minute)
	id := e.sb.AddComment(oldest.ID, User{ID: "900", Name: "Late Visitor"}, "price?", at)
	if id == "" {
		t.Fatal("AddComment failed")
	}
	a := e.get("/v25.0/"+oldest.ID+"?fields=created_time,updated_time", p.Token)
	if a.body["updated_time"] != at.UTC().Format(TimeLayout) || a.body["created_time"] == a.body["updated_time"] {
		t.Fatalf("post after a comment: %s", a.raw)
	}
	if !strings.HasPrefix(id, strings.Split(oldest.ID, "_")[1]+"_") {
		t.Fatalf("comment id %s does not start with the post number", id)
	}
	if e.sb.AddComment("nope_1", User{}, "x", at) != "" {
		t.Fatal("AddComment on an unknown post gave an id")
	}
}

func TestCommentsPaging(t *testing.T) {
	e := newEnv(t, Options{Posts: 3, Comments: 87, Seed: 4})
	p := e.page(0)
	post := e.sb.Posts(p.ID)[0]
	cs := e.sb.Comments(post.ID)
	var all, top []string
	for _, c := range cs {
		all = append(all, c.ID)
		if c.ParentID == "" {
			top = append(top, c.ID)
		}
	}
	if len(top) == len(all) {
		t.Fatal("seed has no replies")
	}
	rev := func(s []string) []string { r := slices.Clone(s); slices.Reverse(r); return r }
	for _, tc := range []struct {
		name  string
		query string
		want  []string
	}{
		{"stream reverse", "filter=stream&order=reverse_chronological&limit=10", rev(all)},
		{"stream chronological", "filter=stream&order=chronological&limit=7", all},
		{"stream default order", "filter=stream&limit=100", all},
		{"toplevel by default", "limit=5", top},
		{"toplevel reverse", "filter=toplevel&order=reverse_chronological&limit=3", rev(top)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.walk("/v25.0/"+post.ID+"/comments?fields=id,created_time,can_reply_privately,from,message,parent&"+tc.query, p.Token)
			if !slices.Equal(ids(got), tc.want) {
				t.Fatalf("got %d comments, want %d in order", len(got), len(tc.want))
			}
			for _, it := range got {
				c, _ := e.sb.Comment(it["id"].(string))
				parent, _ := it["parent"].(map[string]any)
				if (parent != nil) != (c.ParentID != "") || parent != nil && parent["id"] != c.ParentID {
					t.Fatalf("comment %s: parent %v, want %q", c.ID, parent, c.ParentID)
				}
				if it["can_reply_privately"] != c.CanReplyPrivately || it["message"] != c.Message {
					t.Fatalf("comment %s: %v, want %+v", c.ID, it, c)
				}
			}
		})
	}
}

// TestRankedComments: a post whose comments can be ranked lists them ranked
// (most replies first, then oldest first) whatever order is asked for, in
// the edge and in the nested field alike, paging through all of them, and its
// summary says "ranked"; replies of a comment stay in time order.
func TestRankedComments(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Comments: 40, Seed: 6})
	p := e.page(0)
	post := e.sb.Posts(p.ID)[0]
	summaryOrder := func(a answer) string {
		s, _ := a.body["summary"].(map[string]any)
		o, _ := s["order"].(string)
		return o
	}
	q := "/v25.0/" + post.ID + "/comments?filter=stream&order=reverse_chronological&summary=true&limit=7"
	if o := summaryOrder(e.get(q, p.Token)); o != "reverse_chronological" {
		t.Fatalf("summary order before ranking: %q", o)
	}
	if e.sb.RankComments("1_2") || !e.sb.RankComments(post.ID) {
		t.Fatal("RankComments: unknown post accepted or known one refused")
	}
	cs := e.sb.Comments(post.ID)
	replies := map[string]int{}
	for _, c := range cs {
		if c.ParentID != "" {
			replies[c.ParentID]++
		}
	}
	want := make([]Comment, len(cs))
	copy(want, cs)
	slices.SortStableFunc(want, func(a, b Comment) int {
		return cmp.Or(replies[b.ID]-replies[a.ID], a.CreatedTime.Compare(b.CreatedTime))
	})
	if replies[want[0].ID] == 0 || want[0].CreatedTime.Equal(cs[len(cs)-1].CreatedTime) {
		t.Fatal("seed gives ranking nothing to do")
	}
	var wantIDs []string
	for _, c := range want {
		wantIDs = append(wantIDs, c.ID)
	}
	if got := ids(e.walk(q, p.Token)); !slices.Equal(got, wantIDs) {
		t.Errorf("ranked listing:\n got %v\nwant %v", got, wantIDs)
	}
	if o := summaryOrder(e.get(q, p.Token)); o != "ranked" {
		t.Errorf("summary order: %q, want ranked", o)
	}
	a := e.get("/v25.0/"+post.ID+"?fields=comments.filter(stream).order(reverse_chronological).limit(5).summary(true)", p.Token)
	nested, _ := a.body["comments"].(map[string]any)
	if nested == nil {
		t.Fatalf("no nested comments: %s", a.raw)
	}
	data, _ := nested["data"].([]any)
	var got []string
	for _, it := range data {
		got = append(got, it.(map[string]any)["id"].(string))
	}
	if !slices.Equal(got, wantIDs[:5]) || summaryOrder(answer{body: nested}) != "ranked" {
		t.Errorf("nested field: %v (summary %v), want %v ranked", got, nested["summary"], wantIDs[:5])
	}
	parent := want[0].ID
	var wantReplies []string
	for _, c := range cs {
		if c.ParentID == parent {
			wantReplies = append(wantReplies, c.ID)
		}
	}
	if got := ids(e.walk("/v25.0/"+parent+"/comments?order=chronological", p.Token)); !slices.Equal(got, wantReplies) {
		t.Errorf("replies of a ranked post's comment: %v, want %v in time order", got, wantReplies)
	}
}

func TestCommentsCursorSurvivesNewComments(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Comments: 30, Seed: 5})
	p := e.page(0)
	post := e.sb.Posts(p.ID)[0]
	a := e.get("/v25.0/"+post.ID+"/comments?filter=stream&order=reverse_chronological&limit=10", p.Token)
	first := ids(a.data())
	e.sb.AddComment(post.ID, User{ID: "901", Name: "New One"}, "hello", e.clk.Now())
	rest := e.walk(nextOf(a.body), p.Token)
	seen := append(first, ids(rest)...)
	want := []string{}
	for _, c := range e.sb.Comments(post.ID)[:30] {
		want = append(want, c.ID)
	}
	slices.Reverse(want)
	if !slices.Equal(seen, want) {
		t.Fatalf("a comment added while paging shifted the listing: %d seen", len(seen))
	}
}

func TestNestedCommentsFirstPageOnly(t *testing.T) {
	e := newEnv(t, Options{Posts: 4, Comments: 20, Seed: 6})
	p := e.page(0)
	a := e.get("/v25.0/"+p.ID+"/feed?fields=id,comments.limit(3){id,message}", p.Token)
	for _, it := range a.data() {
		postID := it["id"].(string)
		var top []string
		for _, c := range e.sb.Comments(postID) {
			if c.ParentID == "" {
				top = append(top, c.ID)
			}
		}
		nested, _ := it["comments"].(map[string]any)
		if nested == nil {
			t.Fatalf("post %s: no comments field", postID)
		}
		first := ids(listOf(nested))
		if !slices.Equal(first, top[:3]) {
			t.Fatalf("post %s: nested comments %v, want the first 3 top-level %v", postID, first, top[:3])
		}
		next := nextOf(nested)
		if !strings.Contains(next, "/v25.0/"+postID+"/comments?") {
			t.Fatalf("nested next %q", next)
		}
		rest := e.walk(next, p.Token)
		if got := append(first, ids(rest)...); !slices.Equal(got, top) {
			t.Fatalf("post %s: following the nested next gave %d of %d top-level comments", postID, len(got), len(top))
		}
		if _, ok := rest[0]["message"]; !ok {
			t.Fatal("nested next lost the subfields")
		}
	}
}

func TestNestedCommentsLeftOutWhenEmpty(t *testing.T) {
	e := newEnv(t, Options{Posts: 2, Seed: 6})
	p := e.page(0)
	a := e.get("/v25.0/"+p.ID+"/feed?fields=id,comments", p.Token)
	for _, it := range a.data() {
		if _, ok := it["comments"]; ok {
			t.Fatalf("post without comments has a comments field: %v", it)
		}
	}
	a = e.get("/v25.0/"+p.ID+"/feed?fields=id,comments.summary(true)", p.Token)
	if c := a.data()[0]["comments"].(map[string]any); c["summary"].(map[string]any)["total_count"] != 0.0 {
		t.Fatalf("summary: %v", c)
	}
}

func TestObject(t *testing.T) {
	e := newEnv(t, Options{Posts: 2, Comments: 5, Conversations: 2, Seed: 9})
	p := e.page(0)
	post := e.sb.Posts(p.ID)[0]
	c := e.sb.Comments(post.ID)[0]
	for _, tc := range []struct {
		name string
		path string
		want map[string]any
	}{
		{"page", "/v25.0/" + p.ID, map[string]any{"id": p.ID, "name": p.Name}},
		{"post", "/v25.0/" + post.ID + "?fields=id,message", map[string]any{"id": post.ID, "message": post.Message}},
		{"comment", "/v25.0/" + c.ID + "?fields=id,message", map[string]any{"id": c.ID, "message": c.Message}},
		{"no private reply yet", "/v25.0/" + c.ID + "?fields=private_reply_conversation", map[string]any{"id": c.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.get(tc.path, p.Token)
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.raw)
			}
			if !reflect.DeepEqual(a.body, tc.want) {
				t.Fatalf("got %v, want %v", a.body, tc.want)
			}
		})
	}
}

func TestConversations(t *testing.T) {
	e := newEnv(t, Options{Conversations: 23, Seed: 10})
	p := e.page(0)
	items := e.walk("/v25.0/"+p.ID+"/conversations?fields=id,updated_time,participants,messages{message,from,created_time}&limit=5", p.Token)
	if len(items) != 23 {
		t.Fatalf("%d conversations, want 23", len(items))
	}
	byID := map[string]Conversation{}
	for _, cv := range e.sb.Conversations(p.ID) {
		byID[cv.ID] = cv
	}
	var prev string
	for _, it := range items {
		cv := byID[it["id"].(string)]
		up := it["updated_time"].(string)
		if prev != "" && up > prev {
			t.Fatal("conversations not most recently updated first")
		}
		prev = up
		parts := listOf(it["participants"].(map[string]any))
		if len(parts) != 2 || parts[0]["id"] != cv.With.ID || parts[1]["id"] != p.ID {
			t.Fatalf("participants %v", parts)
		}
		msgs := listOf(it["messages"].(map[string]any))
		if len(msgs) != len(cv.Messages) {
			t.Fatalf("%d messages, want %d", len(msgs), len(cv.Messages))
		}
		for i, m := range msgs {
			want := cv.Messages[len(cv.Messages)-1-i]
			if m["message"] != want.Text || m["from"].(map[string]any)["id"] != want.From.ID {
				t.Fatalf("message %d: %v, want %+v (newest first)", i, m, want)
			}
		}
	}
	psid := e.sb.Conversations(p.ID)[0].With.ID
	a := e.get("/v25.0/"+p.ID+"/conversations?user_id="+psid, p.Token)
	if len(a.data()) != 1 {
		t.Fatalf("user_id filter: %s", a.raw)
	}
}

func TestConversationMessagesEdge(t *testing.T) {
	e := newEnv(t, Options{Seed: 11})
	p := e.page(0)
	start := e.clk.Now().Add(-time.Hour)
	var conv string
	for i := range 7 {
		conv, _ = e.sb.AddMessage(p.ID, User{ID: "555", Name: "Ola Nordmann"}, fmt.Sprint("m", i), start.Add(time.Duration(i)*time.Minute))
	}
	a := e.get("/v25.0/"+conv+"?fields=messages.limit(2){message}", p.Token)
	first := listOf(a.body["messages"].(map[string]any))
	rest := e.walk(nextOf(a.body["messages"].(map[string]any)), p.Token)
	var got []string
	for _, m := range append(first, rest...) {
		got = append(got, m["message"].(string))
	}
	if want := []string{"m6", "m5", "m4", "m3", "m2", "m1", "m0"}; !slices.Equal(got, want) {
		t.Fatalf("messages %v, want %v", got, want)
	}
}

func TestSinceUntil(t *testing.T) {
	e := newEnv(t, Options{Posts: 40, Seed: 12})
	p := e.page(0)
	cut := e.clk.Now().Add(-10 * 24 * time.Hour)
	want := 0
	for _, po := range e.sb.Posts(p.ID) {
		if !po.CreatedTime.Before(cut) {
			want++
		}
	}
	got := e.walk("/v25.0/"+p.ID+"/feed?limit=7&since="+fmt.Sprint(cut.Unix()), p.Token)
	if len(got) != want || want == 0 || want == 40 {
		t.Fatalf("since: %d posts, want %d", len(got), want)
	}
	// Both bounds take in a post created at that very second.
	po := e.sb.Posts(p.ID)[7]
	at := fmt.Sprint(po.CreatedTime.Unix())
	for _, q := range []string{"since=" + at, "until=" + at} {
		if got := ids(e.walk("/v25.0/"+p.ID+"/feed?limit=100&"+q, p.Token)); !slices.Contains(got, po.ID) {
			t.Errorf("%s leaves out the post created then", q)
		}
	}
}

func TestTokenOnlyInBodyOrHeader(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Seed: 13})
	p := e.page(0)
	if a := e.get("/v25.0/"+p.ID+"/feed", p.Token); a.status != 200 || e.sb.TokensInURL() != 0 {
		t.Fatalf("header token: %d, %d in URL", a.status, e.sb.TokensInURL())
	}
	if a := e.get("/v25.0/"+p.ID+"/feed?access_token="+url.QueryEscape(p.Token), ""); a.status != 200 || e.sb.TokensInURL() != 1 {
		t.Fatalf("URL token: %d, %d in URL", a.status, e.sb.TokensInURL())
	}
	form := url.Values{"access_token": {p.Token}}
	if a := e.do(http.MethodPost, "/v25.0/"+p.ID+"/messages", "", form); e.sb.TokensInURL() != 1 {
		t.Fatalf("body token counted as in the URL: %s", a.raw)
	}
}

// TestHiddenComments: a hidden comment is left out of the listings after the
// page is cut, so a page can come back short or empty and still have a next
// page; it can still be read by its id.
func TestHiddenComments(t *testing.T) {
	e := newEnv(t, Options{Seed: 17})
	p := e.page(0)
	now := e.clk.Now()
	post := e.sb.AddPost(p.ID, User{}, "news", now.Add(-time.Hour))
	var cs []string
	for i := range 3 {
		cs = append(cs, e.sb.AddComment(post, User{ID: fmt.Sprint(300000 + i), Name: "V"}, "hi", now.Add(time.Duration(i-30)*time.Minute)))
	}
	if !e.sb.HideComment(cs[0]) || e.sb.HideComment("nope_1") {
		t.Fatal("HideComment")
	}
	a := e.get("/v25.0/"+post+"/comments?limit=1", p.Token)
	if len(a.data()) != 0 || nextOf(a.body) == "" {
		t.Fatalf("first page, only a hidden comment: %s", a.raw)
	}
	if got := ids(e.walk("/v25.0/"+post+"/comments?limit=2", p.Token)); !slices.Equal(got, cs[1:]) {
		t.Fatalf("listed %v, want %v", got, cs[1:])
	}
	if a := e.get("/v25.0/"+cs[0], p.Token); a.body["id"] != cs[0] {
		t.Fatalf("hidden comment by id: %s", a.raw)
	}
}
