package sandbox

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestReplyWindowEdges: a private reply is accepted up to exactly seven days
// after the comment and refused with 10903 a second later; a conversation
// reply up to exactly 24 hours after the person's last message, and refused
// with 10/2018278 a second later. The worker's own window check says the same
// (a comment exactly max_age old is eligible), so the sandbox must agree.
func TestReplyWindowEdges(t *testing.T) {
	e := newEnv(t, Options{Seed: 30})
	p := e.page(0)
	now := e.clk.Now()
	post := e.sb.AddPost(p.ID, User{}, "news", now.Add(-30*24*time.Hour))
	edge := e.sb.AddComment(post, User{ID: "400001", Name: "A"}, "hi", now.Add(-ReplyWindow))
	past := e.sb.AddComment(post, User{ID: "400002", Name: "B"}, "hi", now.Add(-ReplyWindow-time.Second))
	if a := e.send(p, map[string]string{"comment_id": edge}, "hi"); a.status != http.StatusOK {
		t.Errorf("comment exactly 7 days old: %d %s", a.status, a.raw)
	}
	if code, _ := e.send(p, map[string]string{"comment_id": past}, "hi").code(); code != CodeTooOld {
		t.Errorf("comment 7 days and a second old: code %d, want %d", code, CodeTooOld)
	}
	in, out := User{ID: "400003", Name: "C"}, User{ID: "400004", Name: "D"}
	e.sb.AddMessage(p.ID, in, "Hello?", now.Add(-MessagingWindow))
	e.sb.AddMessage(p.ID, out, "Hello?", now.Add(-MessagingWindow-time.Second))
	post24 := func(u User) answer {
		return e.do(http.MethodPost, "/v25.0/"+p.ID+"/messages", p.Token, convForm(u.ID, "RESPONSE"))
	}
	if a := post24(in); a.status != http.StatusOK {
		t.Errorf("last message exactly 24 hours ago: %d %s", a.status, a.raw)
	}
	if code, sub := post24(out).code(); code != CodePermission || sub != SubcodeOutsideWindow {
		t.Errorf("last message 24 hours and a second ago: %d/%d, want %d/%d", code, sub, CodePermission, SubcodeOutsideWindow)
	}
}

// TestSendRefusalsAudit: refusals the fixture's table leaves out. A recipient
// naming none of id, comment_id, post_id is a plain 100 (not taken for a
// conversation reply to nobody); a blocked person cannot be answered in their
// conversation either (551); another Page's visitor post is an unknown object
// to this Page (100/33), as another Page's comment is. None is recorded.
func TestSendRefusalsAudit(t *testing.T) {
	f := newFixture(t, Options{})
	sendTo := func(form url.Values) answer {
		return f.do(http.MethodPost, "/v25.0/"+f.p.ID+"/messages", f.p.Token, form)
	}
	empty := url.Values{"recipient": {`{}`}, "message": {`{"text":"x"}`}, "messaging_type": {"RESPONSE"}}
	if a := sendTo(empty); !strings.Contains(a.raw, "Exactly one of") {
		t.Errorf("recipient {}: %s", a.raw)
	}
	f.sb.SetBlocked(f.inWindow.ID, true)
	if code, _ := sendTo(convForm(f.inWindow.ID, "RESPONSE")).code(); code != CodeUnavailable {
		t.Errorf("conversation reply to a blocked person: code %d, want %d", code, CodeUnavailable)
	}
	otherVisitor := f.sb.AddPost(f.other.ID, User{ID: "400010", Name: "Gus"}, "Do you ship?", f.clk.Now().Add(-time.Hour))
	if code, sub := f.send(f.p, map[string]string{"post_id": otherVisitor}, "x").code(); code != CodeInvalidParam || sub != SubcodeNoObject {
		t.Errorf("another Page's visitor post: %d/%d, want 100/33", code, sub)
	}
	if n := len(f.sb.Sends()); n != 0 {
		t.Fatalf("%d sends recorded for refusals: %+v", n, f.sb.Sends())
	}
}

// TestDropOnlyLosesSuccessfulAnswers: DropRate loses the answers of sends
// that happened, nothing else: a refused send still gets its error, and no
// recorded send is marked dropped for it.
func TestDropOnlyLosesSuccessfulAnswers(t *testing.T) {
	f := newFixture(t, Options{})
	if a := f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi"); a.status != http.StatusOK {
		t.Fatal(a.raw)
	}
	f.sb.SetFaults(Faults{DropRate: 1})
	for _, id := range []string{f.fresh, f.own} {
		a := f.send(f.p, map[string]string{"comment_id": id}, "again")
		if code, _ := a.code(); code != CodeAlreadyReplied && code != CodeNotReplyable {
			t.Errorf("refused send of %s under DropRate 1: %d %s", id, a.status, a.raw)
		}
	}
	if n := f.sb.DroppedAnswers(); n != 0 {
		t.Fatalf("DroppedAnswers = %d after only refusals were dropped-eligible, want 0", n)
	}
}

// TestFractionalSendRate: a rate below 1 allows one send per 1/rate seconds;
// a rate of 2.5 allows 2 sends in any second, not 3.
func TestFractionalSendRate(t *testing.T) {
	e := newEnv(t, Options{Pages: 2, Posts: 1, Seed: 31, SendRate: 0.5, ThrottleBlock: time.Minute})
	p, q := e.page(0), e.page(1)
	cs, qcs := e.freshComments(p, 410000, 3), e.freshComments(q, 420000, 3)
	if a := e.send(p, map[string]string{"comment_id": cs[0]}, "hi"); a.status != http.StatusOK {
		t.Fatal(a.raw)
	}
	e.clk.Add(1500 * time.Millisecond)
	if code, _ := e.send(p, map[string]string{"comment_id": cs[1]}, "hi").code(); code != CodeThrottled {
		t.Fatalf("second send 1.5 s after the first at 0.5/s: code %d, want %d", code, CodeThrottled)
	}
	e.sb.SetSendRate(2.5)
	for i, want := range []int{0, 0, CodeThrottled} {
		if code, _ := e.send(q, map[string]string{"comment_id": qcs[i]}, "hi").code(); code != want {
			t.Fatalf("send %d in one second at 2.5/s: code %d, want %d", i, code, want)
		}
	}
}

// TestListFaultAfterToken: Faults.MaxListItems answers a too-large page only
// once the token has passed, so a bad token still says 190; reads report
// their usage as type "pages", sends as "messenger"; answers are JSON.
func TestListFaultAfterToken(t *testing.T) {
	e := newEnv(t, Options{Posts: 3, Seed: 32, Faults: Faults{MaxListItems: 1}})
	p := e.page(0)
	if code, _ := e.get("/v25.0/"+p.ID+"/feed?limit=5", "EAABnope").code(); code != CodeInvalidToken {
		t.Fatalf("bad token on a too-large page: code %d, want %d", code, CodeInvalidToken)
	}
	a := e.get("/v25.0/"+p.ID+"/feed?limit=1", p.Token)
	if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json; charset=UTF-8" {
		t.Fatalf("feed: %d, Content-Type %q", a.status, a.header.Get("Content-Type"))
	}
	if u := usage(t, a.header, p.ID); u["type"] != usagePages {
		t.Fatalf("usage type of a read: %v, want %q", u["type"], usagePages)
	}
}

// TestCommentsSummaryCount: summary.total_count counts every comment of the
// listing, not the page's.
func TestCommentsSummaryCount(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Comments: 12, Seed: 33})
	p := e.page(0)
	post := e.sb.Posts(p.ID)[0].ID
	a := e.get("/v25.0/"+post+"/comments?filter=stream&summary=true&limit=2", p.Token)
	s, _ := a.body["summary"].(map[string]any)
	if s == nil || s["total_count"] != float64(len(e.sb.Comments(post))) {
		t.Fatalf("summary %v, want total_count %d", s, len(e.sb.Comments(post)))
	}
}

// TestBodyParamBeforeQuery: a send's body parameters win over the query's.
func TestBodyParamBeforeQuery(t *testing.T) {
	f := newFixture(t, Options{})
	q := url.Values{"message": {`{"text":"from the query"}`}}
	a := f.do(http.MethodPost, "/v25.0/"+f.p.ID+"/messages?"+q.Encode(), f.p.Token, sendForm(map[string]string{"comment_id": f.fresh}, "from the body"))
	if a.status != http.StatusOK || f.sb.Sends()[0].Text != "from the body" {
		t.Fatalf("%s; sends %+v", a.raw, f.sb.Sends())
	}
}

// TestCallLogCountsBlockedSends: CallLog (what MaxCallsIn and the chaos tests
// count against the rate) holds every POST /messages for the Page, those
// refused by a Throttle block included: Meta counts a call made during a
// block too.
func TestCallLogCountsBlockedSends(t *testing.T) {
	f := newFixture(t, Options{LogCalls: true})
	f.sb.Throttle(f.p.ID, time.Minute)
	if code, _ := f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi").code(); code != CodeThrottled {
		t.Fatalf("send during a block: code %d", code)
	}
	if n := len(f.sb.CallLog(f.p.ID)); n != 1 {
		t.Fatalf("CallLog has %d entries after a blocked send, want 1", n)
	}
	if n, _ := f.sb.SendPeak(f.p.ID); n != 1 || f.sb.CallCount(f.p.ID) != 1 {
		t.Fatalf("SendPeak %d, CallCount %d after a blocked send, want 1 and 1", n, f.sb.CallCount(f.p.ID))
	}
}

// TestShortBlockEndsWithItsSends: a block clears the Page's window, so sends
// are allowed again when the block ends even if it is shorter than the
// window (here 1 s against the 5 s of a 0.2/s rate).
func TestShortBlockEndsWithItsSends(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Seed: 34, SendRate: 0.2, ThrottleBlock: time.Second})
	p := e.page(0)
	cs := e.freshComments(p, 430000, 3)
	for i, want := range []int{0, CodeThrottled, 0} {
		if code, _ := e.send(p, map[string]string{"comment_id": cs[i]}, "hi").code(); code != want {
			t.Fatalf("send %d: code %d, want %d", i, code, want)
		}
		e.clk.Add(time.Second)
	}
}

// TestResetStatsForgetsCounters: ResetStats zeroes every counter, the
// refusals and the throttled counts with the rest.
func TestResetStatsForgetsCounters(t *testing.T) {
	f := newFixture(t, Options{})
	f.send(f.p, map[string]string{"comment_id": f.fresh}, "one")
	f.send(f.p, map[string]string{"comment_id": f.fresh}, "two")
	f.get("/v25.0/"+f.p.ID+"/feed?access_token="+url.QueryEscape(f.p.Token), "")
	f.sb.Throttle(f.p.ID, time.Minute)
	f.get("/v25.0/"+f.p.ID+"/feed", f.p.Token)
	if f.sb.AlreadyRepliedCount() != 1 || len(f.sb.AlreadyReplied()) != 1 || f.sb.ThrottledCount("") != 1 || f.sb.TokensInURL() != 1 {
		t.Fatalf("before: already replied %d %v, throttled %d, tokens in URL %d",
			f.sb.AlreadyRepliedCount(), f.sb.AlreadyReplied(), f.sb.ThrottledCount(""), f.sb.TokensInURL())
	}
	f.sb.ResetStats()
	if f.sb.AlreadyRepliedCount() != 0 || len(f.sb.AlreadyReplied()) != 0 || f.sb.ThrottledCount("") != 0 || f.sb.TokensInURL() != 0 || f.sb.SendCount(f.fresh) != 1 {
		t.Fatalf("after: already replied %d %v, throttled %d, tokens in URL %d, sends %d",
			f.sb.AlreadyRepliedCount(), f.sb.AlreadyReplied(), f.sb.ThrottledCount(""), f.sb.TokensInURL(), f.sb.SendCount(f.fresh))
	}
}

// TestSinceAfterUntil: since later than until is an empty listing, not a
// failure.
func TestSinceAfterUntil(t *testing.T) {
	e := newEnv(t, Options{Posts: 5, Seed: 35})
	p := e.page(0)
	now := e.clk.Now().Unix()
	a := e.get(fmt.Sprintf("/v25.0/%s/feed?since=%d&until=%d", p.ID, now, now-40*24*3600), p.Token)
	if a.status != http.StatusOK || len(a.data()) != 0 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
}

// TestErrorEnvelope: every member of SPEC's error envelope is there, with
// 10900's message as Meta words it.
func TestErrorEnvelope(t *testing.T) {
	f := newFixture(t, Options{})
	f.send(f.p, map[string]string{"comment_id": f.fresh}, "one")
	a := f.send(f.p, map[string]string{"comment_id": f.fresh}, "two")
	e, _ := a.body["error"].(map[string]any)
	for _, k := range []string{"message", "type", "error_user_msg", "fbtrace_id"} {
		if s, _ := e[k].(string); s == "" {
			t.Errorf("error.%s missing: %s", k, a.raw)
		}
	}
	if _, ok := e["is_transient"].(bool); !ok || !strings.Contains(e["message"].(string), "Activity already replied to") {
		t.Errorf("10900 envelope: %s", a.raw)
	}
}

// TestFirstObjectsRender: the sandbox's first conversation (index 0) and
// first comment (index 0) are rendered like any other: a private reply that
// opened the sandbox's first conversation shows in private_reply_conversation,
// a reply to the first comment has its parent.
func TestFirstObjectsRender(t *testing.T) {
	e := newEnv(t, Options{Seed: 36})
	p := e.page(0)
	_, first, reply := e.postWithReply(p)
	if a := e.send(p, map[string]string{"comment_id": first}, "hi"); a.status != http.StatusOK {
		t.Fatal(a.raw)
	}
	if a := e.get("/v25.0/"+first+"?fields=private_reply_conversation", p.Token); a.body["private_reply_conversation"] == nil {
		t.Errorf("private_reply_conversation of the first conversation missing: %s", a.raw)
	}
	a := e.get("/v25.0/"+reply+"?fields=id,parent", p.Token)
	if parent, _ := a.body["parent"].(map[string]any); parent == nil || parent["id"] != first {
		t.Errorf("parent of a reply to the first comment: %s", a.raw)
	}
}

// TestNestedStreamNextAndHiddenAuthor: the nested comments' next link keeps
// filter=stream, so following it gives the replies too; a comment whose
// author is hidden is listed without from.
func TestNestedStreamNextAndHiddenAuthor(t *testing.T) {
	e := newEnv(t, Options{Seed: 37})
	p := e.page(0)
	post, _, reply := e.postWithReply(p)
	e.sb.HideAuthor(reply)
	a := e.get("/v25.0/"+post+"?fields=comments.filter(stream).limit(1){id,from}", p.Token)
	nested, _ := a.body["comments"].(map[string]any)
	rest := e.walk(nextOf(nested), p.Token)
	if len(rest) != 1 || rest[0]["id"] != reply {
		t.Fatalf("nested next of a stream listing: %v", rest)
	}
	if _, ok := rest[0]["from"]; ok {
		t.Fatalf("hidden author listed: %v", rest[0])
	}
}

// TestMessagesKeptInTimeOrder: a message added with an earlier time than the
// conversation's last one takes its place in time, so the thread still lists
// newest first and updated_time is the newest message's.
func TestMessagesKeptInTimeOrder(t *testing.T) {
	e := newEnv(t, Options{Seed: 38})
	p := e.page(0)
	now := e.clk.Now()
	conv, _ := e.sb.AddMessage(p.ID, User{ID: "460001", Name: "A"}, "late", now.Add(-time.Hour))
	e.sb.AddPageMessage(p.ID, "460001", "early", now.Add(-2*time.Hour))
	got := e.walk("/v25.0/"+conv+"/messages?fields=message", p.Token)
	if len(got) != 2 || got[0]["message"] != "late" || got[1]["message"] != "early" {
		t.Fatalf("thread %v, want late then early", got)
	}
}

// freshComments adds n comments from distinct people, made now, to the first
// post of a Page, people numbered from base.
func (e *env) freshComments(p Page, base, n int) []string {
	e.t.Helper()
	post := e.sb.Posts(p.ID)[0].ID
	cs := make([]string, n)
	for i := range cs {
		cs[i] = e.sb.AddComment(post, User{ID: fmt.Sprint(base + i), Name: "V"}, "hi", e.clk.Now())
	}
	return cs
}

// postWithReply adds a Page post with one top-level comment and a reply to it.
func (e *env) postWithReply(p Page) (post, top, reply string) {
	now := e.clk.Now()
	post = e.sb.AddPost(p.ID, User{}, "news", now.Add(-time.Hour))
	top = e.sb.AddComment(post, User{ID: "440001", Name: "A"}, "hi", now.Add(-time.Minute))
	reply = e.sb.AddReply(top, User{ID: "440002", Name: "B"}, "me too", now)
	return post, top, reply
}

// TestInjectedFailureHasUsage: an injected transient error carries
// X-App-Usage like every Graph answer, and no Page's usage.
func TestInjectedFailureHasUsage(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Seed: 39, Faults: Faults{FailRate: 1}})
	p := e.page(0)
	a := e.get("/v25.0/"+p.ID+"/feed", p.Token)
	if a.status != http.StatusInternalServerError || a.header.Get("X-App-Usage") == "" || a.header.Get("X-Business-Use-Case-Usage") != "" {
		t.Fatalf("%d, X-App-Usage %q, X-Business-Use-Case-Usage %q", a.status, a.header.Get("X-App-Usage"), a.header.Get("X-Business-Use-Case-Usage"))
	}
}

// TestPostReplyRecordedAsPost: a private reply to a visitor's post is
// recorded as KindPost with the post as its target.
func TestPostReplyRecordedAsPost(t *testing.T) {
	f := newFixture(t, Options{})
	if a := f.send(f.p, map[string]string{"post_id": f.visitorPost}, "hi"); a.status != http.StatusOK {
		t.Fatal(a.raw)
	}
	if s := f.sb.Sends(); len(s) != 1 || s[0].Kind != KindPost || s[0].Target != f.visitorPost || s[0].RecipientID != "100003" {
		t.Fatalf("recorded %+v", s)
	}
}
