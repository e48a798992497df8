package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestAuthorizationOAuthScheme: Graph takes the token from an Authorization
// header with the OAuth scheme as with Bearer.
func TestAuthorizationOAuthScheme(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Seed: 51})
	p := e.page(0)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v25.0/"+p.ID+"/feed", nil)
	req.Header.Set("Authorization", "OAuth "+p.Token)
	if a := e.roundTrip(req); a.status != http.StatusOK {
		t.Fatalf("OAuth scheme: %d %s", a.status, a.raw)
	}
}

// TestNoTokenAnswer: a call without a token gets 190 with Graph's "active
// access token" message and the WWW-Authenticate header Graph sends with 190.
func TestNoTokenAnswer(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Seed: 52})
	p := e.page(0)
	a := e.get("/v25.0/"+p.ID+"/feed", "")
	if code, _ := a.code(); code != CodeInvalidToken || a.status != http.StatusBadRequest {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	msg := a.body["error"].(map[string]any)["message"].(string)
	if !strings.Contains(msg, "An active access token must be used") {
		t.Fatalf("message %q", msg)
	}
	if h := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `OAuth "Facebook Platform" "invalid_token"`) {
		t.Fatalf("WWW-Authenticate %q", h)
	}
	if h := e.get("/v25.0/"+p.ID+"/feed", "nope").header.Get("WWW-Authenticate"); !strings.Contains(h, "invalid_token") {
		t.Fatalf("bad token: WWW-Authenticate %q", h)
	}
}

// TestRoutingEdges: a path segment that only looks like a version is not one,
// and a POST to a bare object is not a read of it.
func TestRoutingEdges(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Seed: 53})
	p := e.page(0)
	if a := e.get("/v25.x/"+p.ID, p.Token); a.status == http.StatusOK {
		t.Fatalf("/v25.x/ taken as a version: %s", a.raw)
	}
	if a := e.get("/"+p.ID, p.Token); a.status != http.StatusOK || a.body["id"] != p.ID {
		t.Fatalf("no version: %d %s", a.status, a.raw)
	}
	a := e.do(http.MethodPost, "/v25.0/"+p.ID, p.Token, url.Values{"x": {"1"}})
	if code, _ := a.code(); code != CodeInvalidParam || !strings.Contains(a.raw, "Unsupported post request") {
		t.Fatalf("POST /{page-id}: %d %s", a.status, a.raw)
	}
}

// TestListingParams: summary=1 gives the summary, Instagram conversations are
// none, an unknown platform and a limit that is not a number are refused.
func TestListingParams(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Comments: 3, Conversations: 2, Seed: 54})
	p := e.page(0)
	post := e.sb.Posts(p.ID)[0].ID
	if a := e.get("/v25.0/"+post+"/comments?summary=1", p.Token); a.body["summary"] == nil {
		t.Fatalf("summary=1: %s", a.raw)
	}
	if a := e.get("/v25.0/"+p.ID+"/conversations?platform=instagram", p.Token); a.status != 200 || len(a.data()) != 0 {
		t.Fatalf("instagram: %s", a.raw)
	}
	if a := e.get("/v25.0/"+p.ID+"/conversations?platform=messenger", p.Token); len(a.data()) != 2 {
		t.Fatalf("messenger: %s", a.raw)
	}
	if code, _ := e.get("/v25.0/"+p.ID+"/conversations?platform=whatsapp", p.Token).code(); code != CodeInvalidParam {
		t.Fatal("unknown platform accepted")
	}
	if a := e.get("/v25.0/"+p.ID+"/feed?limit=ten", p.Token); a.status != http.StatusBadRequest {
		t.Fatalf("limit=ten: %d %s", a.status, a.raw)
	}
}

// TestConversationSendNeedsMessagingType: a message to a PSID without
// messaging_type is refused and not sent.
func TestConversationSendNeedsMessagingType(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.do(http.MethodPost, "/v25.0/"+f.p.ID+"/messages", f.p.Token, sendForm(map[string]string{"id": f.inWindow.ID}, "hi"))
	if code, _ := a.code(); code != CodeInvalidParam || f.sb.SendCount(f.inWindow.ID) != 0 {
		t.Fatalf("%s, %d sent", a.raw, f.sb.SendCount(f.inWindow.ID))
	}
}

// TestSendAnswerNamesRecipient: a send's answer gives the person's id and the
// message id, as recorded.
func TestSendAnswerNamesRecipient(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi")
	s := f.sb.Sends()
	if a.status != 200 || len(s) != 1 || a.body["recipient_id"] != "100001" || a.body["message_id"] != s[0].MessageID {
		t.Fatalf("%s, recorded %+v", a.raw, s)
	}
}

// TestPagingLinksAtSecondItem: a page that starts at the second item has a
// previous link, and a next link made from a page reached with before carries
// no before cursor.
func TestPagingLinksAtSecondItem(t *testing.T) {
	e := newEnv(t, Options{Posts: 5, Seed: 55})
	p := e.page(0)
	first := e.get("/v25.0/"+p.ID+"/feed?limit=1", p.Token)
	after := first.body["paging"].(map[string]any)["cursors"].(map[string]any)["after"].(string)
	second := e.get("/v25.0/"+p.ID+"/feed?limit=1&after="+after, p.Token)
	pg := second.body["paging"].(map[string]any)
	prev, _ := pg["previous"].(string)
	if prev == "" {
		t.Fatalf("page at the second item has no previous link: %s", second.raw)
	}
	back := e.get(linkWithoutToken(t, prev, p.Token), p.Token)
	if !slices.Equal(ids(back.data()), ids(first.data())) {
		t.Fatalf("previous gave %v, want %v", ids(back.data()), ids(first.data()))
	}
	u, _ := url.Parse(nextOf(back.body))
	if u.Query().Has("before") || !u.Query().Has("after") {
		t.Fatalf("next link after a before page: %s", u)
	}
}

// TestEmptyListingHasNoPaging: an empty page of a listing has data [] and no
// paging member.
func TestEmptyListingHasNoPaging(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Seed: 56})
	p := e.page(0)
	a := e.get("/v25.0/"+p.ID+"/conversations", p.Token)
	if _, ok := a.body["paging"]; ok || a.raw != `{"data":[]}` {
		t.Fatalf("empty listing: %s", a.raw)
	}
}

// TestUsageWindowIsOneSecond: the Page's usage counts the sends of the last
// second only.
func TestUsageWindowIsOneSecond(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Seed: 57, SendRate: 10})
	p := e.page(0)
	for _, c := range e.freshComments(p, 570000, 4) {
		if a := e.send(p, map[string]string{"comment_id": c}, "hi"); a.status != 200 {
			t.Fatal(a.raw)
		}
	}
	busy := usage(t, e.get("/v25.0/"+p.ID+"/feed", p.Token).header, p.ID)["call_count"].(float64)
	e.clk.Add(2 * time.Second)
	idle := usage(t, e.get("/v25.0/"+p.ID+"/feed", p.Token).header, p.ID)["call_count"].(float64)
	if busy <= 1 || idle != 1 {
		t.Fatalf("call_count %v with 4 sends in the second, %v two seconds later", busy, idle)
	}
}

// TestThrottledCountPerPage: ThrottledCount of a Page counts that Page's
// refusals only.
func TestThrottledCountPerPage(t *testing.T) {
	f := newFixture(t, Options{})
	f.sb.Throttle(f.p.ID, time.Minute)
	f.get("/v25.0/"+f.p.ID+"/feed", f.p.Token)
	if a, b, all := f.sb.ThrottledCount(f.p.ID), f.sb.ThrottledCount(f.other.ID), f.sb.ThrottledCount(""); a != 1 || b != 0 || all != 1 {
		t.Fatalf("ThrottledCount %d, other %d, all %d", a, b, all)
	}
}

// TestRecordsAreCopies: what AlreadyReplied and CallLog return is the
// caller's to change.
func TestRecordsAreCopies(t *testing.T) {
	f := newFixture(t, Options{LogCalls: true})
	f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi")
	f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi")
	r := f.sb.AlreadyReplied()
	log := f.sb.CallLog(f.p.ID)
	if len(r) != 1 || len(log) != 2 {
		t.Fatalf("refusals %v, log %v", r, log)
	}
	r[0].Target, log[0] = "changed", time.Time{}
	if f.sb.AlreadyReplied()[0].Target != f.fresh || f.sb.CallLog(f.p.ID)[0].IsZero() {
		t.Fatal("a returned record changed the recorder")
	}
}

// TestSendLogPastOneChunk: sends past the first chunk of the log are kept in
// order, and marking one dropped marks that one.
func TestSendLogPastOneChunk(t *testing.T) {
	var rc recorder
	rc.init()
	n := sendChunk + sendChunk/2
	for i := range n {
		if got := rc.send(Send{Kind: KindComment, Target: strconv.Itoa(i)}); got != i {
			t.Fatalf("send %d recorded at %d", i, got)
		}
	}
	rc.markDropped(sendChunk + 3)
	all := rc.sends.all()
	if len(all) != n || len(rc.sends.chunks) != 2 {
		t.Fatalf("%d sends in %d chunks", len(all), len(rc.sends.chunks))
	}
	for i, sd := range all {
		if sd.Target != strconv.Itoa(i) || sd.Dropped != (i == sendChunk+3) {
			t.Fatalf("send %d: %+v", i, sd)
		}
	}
}

// TestConversationFields: can_reply follows the 24-hour window, Messenger
// users carry an email, the snippet is the last message cut to 100
// characters.
func TestConversationFields(t *testing.T) {
	f := newFixture(t, Options{})
	long := strings.Repeat("é", 100)
	f.sb.AddPageMessage(f.p.ID, f.inWindow.ID, long+"!", f.clk.Now().Add(-time.Minute))
	a := f.get("/v25.0/"+f.p.ID+"/conversations?fields=id,can_reply,snippet,participants", f.p.Token)
	got := map[string]map[string]any{}
	for _, it := range a.data() {
		parts := listOf(it["participants"].(map[string]any))
		if parts[0]["email"] != parts[0]["id"].(string)+"@facebook.com" || parts[1]["email"] != f.p.ID+"@facebook.com" {
			t.Fatalf("participants %v", parts)
		}
		got[parts[0]["id"].(string)] = it
	}
	in, out := got[f.inWindow.ID], got[f.outWindow.ID]
	if in["can_reply"] != true || out["can_reply"] != false {
		t.Fatalf("can_reply: in window %v, outside %v", in["can_reply"], out["can_reply"])
	}
	if in["snippet"] != long {
		t.Fatalf("snippet %q", in["snippet"])
	}
}

// TestNestedCommentsEdges: the nested field checks its subfields and order,
// pages 25 by default, keeps the order in its next link and counts every
// comment in its summary.
func TestNestedCommentsEdges(t *testing.T) {
	e := newEnv(t, Options{Seed: 58})
	p := e.page(0)
	post := e.sb.AddPost(p.ID, User{}, "news", e.clk.Now().Add(-time.Hour))
	for i := range 30 {
		e.sb.AddComment(post, User{ID: fmt.Sprint(580000 + i), Name: "V"}, "hi", e.clk.Now().Add(time.Duration(i-60)*time.Minute))
	}
	for _, q := range []string{"comments{bogus}", "comments.order(sideways)"} {
		if code, _ := e.get("/v25.0/"+post+"?fields="+q, p.Token).code(); code != CodeInvalidParam {
			t.Fatalf("fields=%s accepted", q)
		}
	}
	a := e.get("/v25.0/"+post+"?fields=comments", p.Token)
	if n := len(listOf(a.body["comments"].(map[string]any))); n != defaultLimit {
		t.Fatalf("nested comments: %d, want %d", n, defaultLimit)
	}
	a = e.get("/v25.0/"+post+"?fields=comments.order(reverse_chronological).limit(4).summary(true)", p.Token)
	nested := a.body["comments"].(map[string]any)
	u, _ := url.Parse(nextOf(nested))
	if u.Query().Get("order") != "reverse_chronological" {
		t.Fatalf("nested next %s", u)
	}
	if n := nested["summary"].(map[string]any)["total_count"]; n != 30.0 {
		t.Fatalf("total_count %v, want 30", n)
	}
}

// TestHiddenAuthorOfPost: a post whose author is hidden is listed without
// from.
func TestHiddenAuthorOfPost(t *testing.T) {
	f := newFixture(t, Options{})
	f.sb.HideAuthor(f.visitorPost)
	a := f.get("/v25.0/"+f.visitorPost+"?fields=id,from", f.p.Token)
	if _, ok := a.body["from"]; ok || a.status != 200 {
		t.Fatalf("%s", a.raw)
	}
}

// TestStoreMutators: the test-facing mutators keep Facebook's rules.
func TestStoreMutators(t *testing.T) {
	e := newEnv(t, Options{Pages: 2, Seed: 59})
	p, q := e.page(0), e.page(1)
	now := e.clk.Now().Add(-time.Hour)
	own := e.sb.AddPost(p.ID, User{ID: p.ID}, "ours", now)
	if po, _ := e.sb.Post(own); !po.FromPage || po.CanReplyPrivately {
		t.Fatalf("post by the Page's id: %+v", po)
	}
	if po, _ := e.sb.Post(e.sb.AddPost(p.ID, User{}, "ours too", now)); po.CanReplyPrivately {
		t.Fatalf("Page's own post can be replied to: %+v", po)
	}
	top := e.sb.AddComment(own, User{ID: "590001"}, "hi", now)
	reply := e.sb.AddReply(top, User{ID: "590002", Name: "B"}, "yes", now)
	deeper := e.sb.AddReply(reply, User{ID: "590003", Name: "C"}, "me too", now)
	if c, _ := e.sb.Comment(deeper); c.ParentID != top {
		t.Fatalf("reply to a reply has parent %q, want the top-level %q", c.ParentID, top)
	}
	e.sb.AddComment(own, User{ID: "590001", Name: "Ana Later"}, "again", now)
	if c, _ := e.sb.Comment(top); c.From.Name != "Ana Later" {
		t.Fatalf("name learnt later not kept: %+v", c.From)
	}
	if cv, m := e.sb.AddMessage(p.ID, User{}, "hi", now); cv != "" || m != "" {
		t.Fatal("message from no one added")
	}
	e.sb.AddMessage(q.ID, User{ID: "590009"}, "hi", now)
	if id := e.sb.AddPageMessage(p.ID, "590009", "hello", now); id != "" {
		t.Fatal("Page message added to another Page's conversation")
	}
	// A post number of one Page under another Page's id is no post.
	num := own[strings.IndexByte(own, '_')+1:]
	if code, _ := e.get("/v25.0/"+q.ID+"_"+num, p.Token).code(); code != CodeInvalidParam {
		t.Fatal("post found under another Page's id")
	}
	// The conversation id just past the last one is unknown, not a crash.
	n, _ := strconv.ParseInt(strings.TrimPrefix(convID(0), "t_"), 10, 64)
	next := "t_" + strconv.FormatInt(n+int64(len(e.sb.Conversations(p.ID))+len(e.sb.Conversations(q.ID))), 10)
	if code, sub := e.get("/v25.0/"+next, p.Token).code(); code != CodeInvalidParam || sub != SubcodeNoObject {
		t.Fatalf("%s: %d/%d", next, code, sub)
	}
}

// TestSeedShapes: what seeding promises beyond the shares of TestSeedMix:
// distinct Page names past the list of names, no comment within an hour of
// the reply window's edge (a test's eligibility does not hang on seconds),
// visitor posts that cannot be replied to, conversations that start with the
// person and about half of them answerable, and message ids never reused.
func TestSeedShapes(t *testing.T) {
	clk := newClock()
	sb := New(Options{Pages: 9, Posts: 40, Comments: 20, Conversations: 20, VisitorPosts: true, Seed: 60, Now: clk.Now})
	now := clk.Now()
	names := map[string]bool{}
	msgIDs := map[string]bool{}
	var visitorNoReply, inWindow, convs int
	for _, p := range sb.Pages() {
		if names[p.Name] {
			t.Fatalf("Page name %q twice", p.Name)
		}
		names[p.Name] = true
		for _, po := range sb.Posts(p.ID) {
			if !po.FromPage && !po.CanReplyPrivately {
				visitorNoReply++
			}
			for _, c := range sb.Comments(po.ID) {
				if age := now.Sub(c.CreatedTime); age > ReplyWindow-time.Hour && age <= ReplyWindow+time.Hour {
					t.Fatalf("comment %s is %v old, within an hour of the reply window", c.ID, age)
				}
			}
		}
		for _, cv := range sb.Conversations(p.ID) {
			convs++
			if len(cv.Messages) == 0 || cv.Messages[0].FromPage {
				t.Fatalf("conversation %s does not start with the person: %+v", cv.ID, cv.Messages)
			}
			var last time.Time
			for _, m := range cv.Messages {
				if msgIDs[m.ID] {
					t.Fatalf("message id %s twice", m.ID)
				}
				msgIDs[m.ID] = true
				if !m.FromPage {
					last = m.CreatedTime
				}
			}
			if now.Sub(last) <= MessagingWindow {
				inWindow++
			}
		}
	}
	if visitorNoReply == 0 {
		t.Error("every visitor post can be replied to")
	}
	if share := float64(inWindow) / float64(convs); share < 0.4 || share > 0.85 {
		t.Errorf("%d of %d conversations answerable", inWindow, convs)
	}
}

// TestFieldsSyntax: Graph refuses a fields parameter it cannot parse.
func TestFieldsSyntax(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Comments: 2, Seed: 61})
	p := e.page(0)
	post := e.sb.Posts(p.ID)[0].ID
	for _, fields := range []string{"id)", "comments{id}{message}", "comments.summary,id.limit(2)", "comments.limit(abc)"} {
		a := e.get("/v25.0/"+post+"?fields="+url.QueryEscape(fields), p.Token)
		if code, _ := a.code(); code != CodeInvalidParam {
			t.Errorf("fields=%s: %d %s", fields, a.status, a.raw)
		}
	}
}

// TestAnswersAreValidJSON: control characters and invalid UTF-8 in a message
// are escaped, so an answer is valid JSON for any parser.
func TestAnswersAreValidJSON(t *testing.T) {
	e := newEnv(t, Options{Seed: 62})
	p := e.page(0)
	post := e.sb.AddPost(p.ID, User{}, "news", e.clk.Now().Add(-time.Hour))
	c := e.sb.AddComment(post, User{ID: "620001"}, "a\x1fb\xffc", e.clk.Now())
	a := e.get("/v25.0/"+c+"?fields=message", p.Token)
	if !utf8.ValidString(a.raw) || !json.Valid([]byte(a.raw)) || strings.ContainsAny(a.raw, "\x1f") {
		t.Fatalf("answer %q", a.raw)
	}
	if a.body["message"] != "a\x1fb\uFFFDc" {
		t.Fatalf("message %q", a.body["message"])
	}
}

// TestOtherBodies: a JSON body's string members are their values (the token
// among them), a multipart body carries parameters as a form does, and an
// empty JSON body is no parameters (here, no token) rather than bad JSON.
func TestOtherBodies(t *testing.T) {
	f := newFixture(t, Options{})
	post := func(ct string, body io.Reader) answer {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v25.0/"+f.p.ID+"/messages", body)
		req.Header.Set("Content-Type", ct)
		return f.roundTrip(req)
	}
	js, _ := json.Marshal(map[string]any{
		"access_token":   f.p.Token,
		"recipient":      map[string]string{"id": f.inWindow.ID},
		"messaging_type": "RESPONSE",
		"message":        map[string]string{"text": "hi"},
	})
	if a := post("application/json", bytes.NewReader(js)); a.status != 200 || f.sb.SendCount(f.inWindow.ID) != 1 {
		t.Fatalf("JSON body: %d %s", a.status, a.raw)
	}
	if a := post("application/json", strings.NewReader("")); !strings.Contains(a.raw, "An active access token must be used") {
		t.Fatalf("empty JSON body: %s", a.raw)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range sendForm(map[string]string{"comment_id": f.fresh}, "hi") {
		mw.WriteField(k, vs[0])
	}
	mw.WriteField("access_token", f.p.Token)
	mw.Close()
	if a := post(mw.FormDataContentType(), &buf); a.status != 200 || f.sb.SendCount(f.fresh) != 1 {
		t.Fatalf("multipart body: %d %s", a.status, a.raw)
	}
}

// TestEdgesOfTheWrongKind: comments of a Page and messages of a post are
// unknown objects, and user_id finds the person's conversation with the
// Page asked about.
func TestEdgesOfTheWrongKind(t *testing.T) {
	f := newFixture(t, Options{})
	for _, path := range []string{"/v25.0/" + f.p.ID + "/comments", "/v25.0/" + f.pagePost + "/messages"} {
		if code, sub := f.get(path, f.p.Token).code(); code != CodeInvalidParam || sub != SubcodeNoObject {
			t.Errorf("%s: %d/%d", path, code, sub)
		}
	}
	f.sb.AddMessage(f.other.ID, User{ID: "630001"}, "hi", f.clk.Now())
	if a := f.get("/v25.0/"+f.other.ID+"/conversations?user_id=630001", f.other.Token); len(a.data()) != 1 {
		t.Fatalf("user_id on the second Page: %s", a.raw)
	}
}

// TestRepliesOfRankedPostInTimeOrder: ranking a post's comments leaves the
// replies of a comment in time order.
func TestRepliesOfRankedPostInTimeOrder(t *testing.T) {
	e := newEnv(t, Options{Seed: 64})
	p := e.page(0)
	post, top, _ := e.postWithReply(p)
	e.sb.RankComments(post)
	a := e.get("/v25.0/"+top+"/comments?summary=true", p.Token)
	if o := a.body["summary"].(map[string]any)["order"]; o != orderChronological {
		t.Fatalf("replies listed %v", o)
	}
}

// TestSendRecipientEdges: a PSID known only from another Page's conversations
// is no user of this Page, and a recipient that is not a whole JSON object is
// refused.
func TestSendRecipientEdges(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.do(http.MethodPost, "/v25.0/"+f.other.ID+"/messages", f.other.Token, convForm(f.inWindow.ID, "RESPONSE"))
	if code, sub := a.code(); code != CodeInvalidParam || sub != SubcodeNoUser || len(f.sb.Sends()) != 0 {
		t.Fatalf("PSID of another Page: %s", a.raw)
	}
	form := sendForm(nil, "hi")
	form.Set("recipient", `{"comment_id":"`+f.fresh+`xy`)
	a = f.do(http.MethodPost, "/v25.0/"+f.p.ID+"/messages", f.p.Token, form)
	if code, _ := a.code(); code != CodeInvalidParam || len(f.sb.Sends()) != 0 {
		t.Fatalf("truncated recipient: %s", a.raw)
	}
}

// TestRefusalRecordAndUsage: a send is recorded with its time, a 10900 is
// recorded with the time it was refused, and a refusal carries the Page's
// usage header as every answer about the Page does.
func TestRefusalRecordAndUsage(t *testing.T) {
	f := newFixture(t, Options{})
	sentAt := f.clk.Now()
	f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi")
	f.clk.Add(time.Minute)
	a := f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi")
	if code, _ := a.code(); code != CodeAlreadyReplied {
		t.Fatal(a.raw)
	}
	if u := usage(t, a.header, f.p.ID); u["type"] != usageMessenger || u["estimated_time_to_regain_access"] != 0.0 {
		t.Fatalf("usage %v", u)
	}
	if s := f.sb.Sends(); !s[0].Time.Equal(sentAt) {
		t.Fatalf("send recorded at %v, want %v", s[0].Time, sentAt)
	}
	if r := f.sb.AlreadyReplied(); len(r) != 1 || !r[0].Time.Equal(sentAt.Add(time.Minute)) {
		t.Fatalf("refusals %+v", r)
	}
}
