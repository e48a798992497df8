package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixture is a sandbox with one item per rule of SPEC.md.
type fixture struct {
	*env
	p, other                       Page
	fresh, own, noReply, old, blkd string // comments
	foreign                        string // a comment on the other Page
	visitorPost, pagePost          string
	inWindow, outWindow            User
}

func newFixture(t *testing.T, opts Options) *fixture {
	t.Helper()
	opts.Pages = 2
	e := newEnv(t, opts)
	f := &fixture{env: e, p: e.page(0), other: e.page(1)}
	now := e.clk.Now()
	alice, bob := User{ID: "100001", Name: "Alice Martin"}, User{ID: "100002", Name: "Bob Blocked"}
	f.pagePost = e.sb.AddPost(f.p.ID, User{}, "Our news", now.Add(-10*24*time.Hour))
	f.fresh = e.sb.AddComment(f.pagePost, alice, "What's the price?", now.Add(-time.Hour))
	f.own = e.sb.AddComment(f.pagePost, User{}, "Thanks all", now.Add(-time.Hour))
	f.noReply = e.sb.AddComment(f.pagePost, alice, "hidden", now.Add(-time.Hour))
	e.sb.SetCanReplyPrivately(f.noReply, false)
	f.old = e.sb.AddComment(f.pagePost, alice, "old one", now.Add(-8*24*time.Hour))
	f.blkd = e.sb.AddComment(f.pagePost, bob, "blocked", now.Add(-time.Hour))
	e.sb.SetBlocked(bob.ID, true)
	f.visitorPost = e.sb.AddPost(f.p.ID, User{ID: "100003", Name: "Carol Visitor"}, "Do you ship?", now.Add(-2*time.Hour))
	otherPost := e.sb.AddPost(f.other.ID, User{}, "Elsewhere", now.Add(-time.Hour))
	f.foreign = e.sb.AddComment(otherPost, alice, "hi", now.Add(-time.Minute))
	f.inWindow, f.outWindow = User{ID: "100004", Name: "Dan Recent"}, User{ID: "100005", Name: "Erin Late"}
	e.sb.AddMessage(f.p.ID, f.inWindow, "Hello?", now.Add(-23*time.Hour))
	e.sb.AddMessage(f.p.ID, f.outWindow, "Hello?", now.Add(-25*time.Hour))
	return f
}

func TestSendErrors(t *testing.T) {
	f := newFixture(t, Options{})
	long := strings.Repeat("é", MaxTextLen+1)
	for _, tc := range []struct {
		name      string
		token     string
		recipient map[string]string
		text      string
		form      url.Values // overrides recipient and text
		code, sub int
		status    int
	}{
		{name: "private reply to a comment", recipient: map[string]string{"comment_id": f.fresh}, text: "Hi Alice"},
		{name: "private reply to a visitor post", recipient: map[string]string{"post_id": f.visitorPost}, text: "Hi Carol"},
		{name: "no token", token: "-", recipient: map[string]string{"comment_id": f.fresh}, text: "x", code: 190},
		{name: "unknown token", token: "EAABnope", recipient: map[string]string{"comment_id": f.fresh}, text: "x", code: 190},
		{name: "other Page's token", token: f.other.Token, recipient: map[string]string{"comment_id": f.fresh}, text: "x", code: 190},
		{name: "empty text", recipient: map[string]string{"comment_id": f.fresh}, text: "", code: 100},
		{name: "text too long", recipient: map[string]string{"comment_id": f.fresh}, text: long, code: 100},
		{name: "text of 2000 characters", recipient: map[string]string{"post_id": f.visitorPost}, text: long[2:], code: 10900},
		{name: "no recipient", form: url.Values{"message": {`{"text":"x"}`}}, code: 100},
		{name: "two recipients", recipient: map[string]string{"comment_id": f.fresh, "post_id": f.visitorPost}, text: "x", code: 100},
		{name: "unknown comment", recipient: map[string]string{"comment_id": "1_2"}, text: "x", code: 100, sub: 33},
		{name: "comment of another Page", recipient: map[string]string{"comment_id": f.foreign}, text: "x", code: 100, sub: 33},
		{name: "the Page's own comment", recipient: map[string]string{"comment_id": f.own}, text: "x", code: 10902},
		{name: "can_reply_privately false", recipient: map[string]string{"comment_id": f.noReply}, text: "x", code: 10902},
		{name: "the Page's own post", recipient: map[string]string{"post_id": f.pagePost}, text: "x", code: 10902},
		{name: "older than 7 days", recipient: map[string]string{"comment_id": f.old}, text: "x", code: 10903},
		{name: "blocked person", recipient: map[string]string{"comment_id": f.blkd}, text: "x", code: 551, sub: 1545041},
		{name: "second reply", recipient: map[string]string{"comment_id": f.fresh}, text: "again", code: 10900},
		{name: "conversation inside 24h", form: convForm(f.inWindow.ID, "RESPONSE")},
		{name: "conversation outside 24h", form: convForm(f.outWindow.ID, "RESPONSE"), code: 10, sub: 2018278},
		{name: "conversation without messaging_type", form: convForm(f.inWindow.ID, ""), code: 100},
		{name: "conversation with nobody", form: convForm("424242", "RESPONSE"), code: 100, sub: 2018001},
		{name: "conversation after a private reply only", form: convForm("100003", "RESPONSE"), code: 10, sub: 2018278},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := tc.form
			if form == nil {
				form = sendForm(tc.recipient, tc.text)
			}
			token := f.p.Token
			switch tc.token {
			case "-":
				token = ""
			case "":
			default:
				token = tc.token
			}
			a := f.do(http.MethodPost, "/v25.0/"+f.p.ID+"/messages", token, form)
			code, sub := a.code()
			if code != tc.code || sub != tc.sub {
				t.Fatalf("code %d/%d, want %d/%d: %s", code, sub, tc.code, tc.sub, a.raw)
			}
			wantStatus := 200
			if tc.code != 0 {
				wantStatus = 400
			}
			if a.status != wantStatus {
				t.Fatalf("HTTP %d, want %d", a.status, wantStatus)
			}
			if tc.code == 0 {
				if !strings.HasPrefix(a.body["message_id"].(string), "m_") || a.body["recipient_id"] == "" {
					t.Fatalf("answer %s", a.raw)
				}
				return
			}
			e := a.body["error"].(map[string]any)
			if e["type"] == "" || e["message"] == "" || e["fbtrace_id"] == "" || e["is_transient"] != false {
				t.Fatalf("error shape: %s", a.raw)
			}
		})
	}
	if n := len(f.sb.Sends()); n != 3 {
		t.Errorf("%d sends recorded, want 3", n)
	}
	if f.sb.SendCount(f.visitorPost) != 1 || f.sb.SendCount(f.fresh) != 1 {
		t.Errorf("SendCount: post %d, comment %d, want 1 each", f.sb.SendCount(f.visitorPost), f.sb.SendCount(f.fresh))
	}
	if f.sb.AlreadyRepliedCount() != 2 || f.sb.Duplicates() != 0 {
		t.Errorf("already replied %d (want 2), duplicates %d", f.sb.AlreadyRepliedCount(), f.sb.Duplicates())
	}
}

func convForm(psid, messagingType string) url.Values {
	v := sendForm(map[string]string{"id": psid}, "We're here")
	if messagingType != "" {
		v.Set("messaging_type", messagingType)
	}
	return v
}

func TestPrivateReplyConversationField(t *testing.T) {
	f := newFixture(t, Options{})
	path := "/v25.0/" + f.fresh + "?fields=private_reply_conversation"
	if a := f.get(path, f.p.Token); a.body["private_reply_conversation"] != nil {
		t.Fatalf("before: %s", a.raw)
	}
	if a := f.send(f.p, map[string]string{"comment_id": f.fresh}, "Hi"); a.status != 200 {
		t.Fatal(a.raw)
	}
	a := f.get(path, f.p.Token)
	prc, _ := a.body["private_reply_conversation"].(map[string]any)
	if prc == nil || !strings.HasPrefix(prc["id"].(string), "t_") || a.body["id"] != f.fresh {
		t.Fatalf("after: %s", a.raw)
	}
	// The reply opened a conversation with the commenter, as on Messenger.
	conv := f.get("/v25.0/"+prc["id"].(string)+"?fields=participants,messages{message,from}", f.p.Token)
	msgs := listOf(conv.body["messages"].(map[string]any))
	if len(msgs) != 1 || msgs[0]["message"] != "Hi" || msgs[0]["from"].(map[string]any)["id"] != f.p.ID {
		t.Fatalf("conversation: %s", conv.raw)
	}
}

func TestUnknownObject(t *testing.T) {
	f := newFixture(t, Options{})
	for _, id := range []string{"123", f.p.ID + "_999", "999_" + fmt.Sprint(commentBase), "t_1", "abc"} {
		a := f.get("/v25.0/"+id+"?fields=id", f.p.Token)
		if code, sub := a.code(); code != 100 || sub != 33 || !strings.Contains(a.raw, "Unsupported get request") {
			t.Fatalf("%s: %s", id, a.raw)
		}
	}
}

// TestOtherPagesObjects: a read of another Page's post, comment or
// conversation, or of the other Page itself, is answered as Graph answers an
// object the token cannot see: 100/33 "Unsupported get request", the answer
// for an unknown id, not a token error (190 would say the reading Page's own
// token is broken). Only the other Page's edges (feed, conversations, sends)
// read with a token that is not the Page's say the token is wrong for it.
func TestOtherPagesObjects(t *testing.T) {
	f := newFixture(t, Options{})
	otherPost := f.sb.Posts(f.other.ID)[0].ID
	conv, _ := f.sb.AddMessage(f.other.ID, User{ID: "100009", Name: "Fay Other"}, "Hello?", f.clk.Now().Add(-time.Hour))
	for _, path := range []string{
		"/v25.0/" + f.foreign + "?fields=id,message",
		"/v25.0/" + f.foreign + "?fields=private_reply_conversation",
		"/v25.0/" + f.foreign + "/comments",
		"/v25.0/" + otherPost + "?fields=id,from,message",
		"/v25.0/" + otherPost + "/comments?filter=stream",
		"/v25.0/" + conv + "?fields=id,updated_time,participants,messages{message,from,created_time}",
		"/v25.0/" + conv + "/messages",
		"/v25.0/" + f.other.ID + "?fields=id,participants",
	} {
		a := f.get(path, f.p.Token)
		if code, sub := a.code(); code != 100 || sub != 33 || a.status != 400 || !strings.Contains(a.raw, "Unsupported get request") {
			t.Errorf("GET %s with another Page's token: %d %s, want 400 100/33", path, a.status, a.raw)
		}
		if strings.Contains(a.raw, f.other.ID) && !strings.HasPrefix(strings.TrimPrefix(path, "/v25.0/"), f.other.ID) {
			t.Errorf("GET %s: the answer names the owner Page: %s", path, a.raw)
		}
		if a.header.Get("X-Business-Use-Case-Usage") != "" {
			t.Errorf("GET %s: the answer gives the owner Page's usage: %s", path, a.header.Get("X-Business-Use-Case-Usage"))
		}
	}
	// The Page's own objects still read.
	if a := f.get("/v25.0/"+f.fresh+"?fields=private_reply_conversation", f.p.Token); a.status != 200 {
		t.Fatalf("own comment: %s", a.raw)
	}
	for _, path := range []string{"/v25.0/" + f.other.ID + "/feed", "/v25.0/" + f.other.ID + "/conversations"} {
		if code, _ := f.get(path, f.p.Token).code(); code != 190 {
			t.Errorf("GET %s with another Page's token: code %d, want 190", path, code)
		}
	}
}

func TestAppSecretProof(t *testing.T) {
	f := newFixture(t, Options{AppSecret: "s3cret"})
	good := proof("s3cret", f.p.Token)
	for _, tc := range []struct {
		name  string
		proof string
		code  int
	}{
		{"correct", good, 0},
		{"missing", "", 100},
		{"wrong", proof("other", f.p.Token), 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := f.get("/v25.0/"+f.p.ID+"/feed?limit=1&appsecret_proof="+tc.proof, f.p.Token)
			if code, _ := a.code(); code != tc.code {
				t.Fatalf("code %d, want %d: %s", code, tc.code, a.raw)
			}
			if tc.code != 0 {
				return
			}
			// Graph's next link carries the request's token and proof, so
			// it answers when followed as it is, with no header.
			next := nextOf(a.body)
			u, err := url.Parse(next)
			if err != nil || u.Query().Get("appsecret_proof") != good || u.Query().Get("access_token") != f.p.Token {
				t.Fatalf("next %q lacks the request's token or proof", next)
			}
			if b := f.get(next, ""); b.status != http.StatusOK || len(b.data()) != 1 {
				t.Fatalf("next followed as it is: %d %s", b.status, b.raw)
			}
		})
	}
	form := sendForm(map[string]string{"comment_id": f.fresh}, "hi")
	form.Set("appsecret_proof", good)
	if a := f.do(http.MethodPost, "/v25.0/"+f.p.ID+"/messages", f.p.Token, form); a.status != 200 {
		t.Fatalf("proof in the body: %s", a.raw)
	}
}

func TestBrokenToken(t *testing.T) {
	f := newFixture(t, Options{})
	f.sb.BreakToken(f.p.ID, true)
	a := f.get("/v25.0/"+f.p.ID+"/feed", f.p.Token)
	if code, sub := a.code(); code != 190 || sub != SubcodeExpired || a.status != 400 {
		t.Fatalf("broken: %d %s", a.status, a.raw)
	}
	if a := f.get("/v25.0/"+f.other.ID+"/feed", f.other.Token); a.status != 200 {
		t.Fatalf("other Page: %s", a.raw)
	}
	f.sb.BreakToken(f.p.ID, false)
	if a := f.get("/v25.0/"+f.p.ID+"/feed", f.p.Token); a.status != 200 {
		t.Fatalf("mended: %s", a.raw)
	}
}

func TestJSONBody(t *testing.T) {
	f := newFixture(t, Options{})
	body, _ := json.Marshal(map[string]any{
		"recipient": map[string]string{"comment_id": f.fresh},
		"message":   map[string]string{"text": "Hi from JSON"},
	})
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v25.0/"+f.p.ID+"/messages", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+f.p.Token)
	if a := f.roundTrip(req); a.status != 200 || f.sb.SendCount(f.fresh) != 1 {
		t.Fatalf("%d %s", a.status, a.raw)
	}
	if s := f.sb.Sends()[0]; s.Text != "Hi from JSON" || s.Kind != KindComment || s.Target != f.fresh || s.PageID != f.p.ID {
		t.Fatalf("recorded %+v", s)
	}
}

// usage decodes X-Business-Use-Case-Usage for a Page.
func usage(t *testing.T, h http.Header, pageID string) map[string]any {
	t.Helper()
	var m map[string][]map[string]any
	if err := json.Unmarshal([]byte(h.Get("X-Business-Use-Case-Usage")), &m); err != nil || len(m[pageID]) != 1 {
		t.Fatalf("X-Business-Use-Case-Usage %q: %v", h.Get("X-Business-Use-Case-Usage"), err)
	}
	return m[pageID][0]
}

func TestSendRateThrottle(t *testing.T) {
	e := newEnv(t, Options{Pages: 2, Posts: 1, Comments: 0, Seed: 20, SendRate: 3, ThrottleBlock: 90 * time.Second})
	p, q := e.page(0), e.page(1)
	post := e.sb.Posts(p.ID)[0].ID
	var cs []string
	for i := range 10 {
		cs = append(cs, e.sb.AddComment(post, User{ID: fmt.Sprint(200000 + i), Name: "V"}, "hi", e.clk.Now()))
	}
	var qcs []string
	for i := range 4 {
		qcs = append(qcs, e.sb.AddComment(e.sb.Posts(q.ID)[0].ID, User{ID: fmt.Sprint(210000 + i), Name: "W"}, "hi", e.clk.Now()))
	}
	for i := range 3 {
		a := e.send(p, map[string]string{"comment_id": cs[i]}, "hi")
		if a.status != 200 {
			t.Fatalf("send %d within the rate: %s", i, a.raw)
		}
		if u := usage(t, a.header, p.ID); u["call_count"].(float64) >= 95 || u["type"] != "messenger" {
			t.Fatalf("usage within the rate: %v", u)
		}
		if a.header.Get("X-App-Usage") == "" {
			t.Fatal("no X-App-Usage")
		}
	}
	a := e.send(p, map[string]string{"comment_id": cs[3]}, "hi")
	if code, _ := a.code(); code != CodeThrottled || a.status != 400 {
		t.Fatalf("past the rate: %d %s", a.status, a.raw)
	}
	u := usage(t, a.header, p.ID)
	if u["call_count"] != 100.0 || u["estimated_time_to_regain_access"] != 2.0 || u["type"] != usageMessenger {
		t.Fatalf("usage when throttled: %v", u)
	}
	// The block holds even after the window has passed, and counts each refusal.
	e.clk.Add(30 * time.Second)
	if code, _ := e.send(p, map[string]string{"comment_id": cs[3]}, "hi").code(); code != CodeThrottled {
		t.Fatal("block ended early")
	}
	// Reads and other Pages are not blocked.
	if a := e.get("/v25.0/"+p.ID+"/feed", p.Token); a.status != 200 {
		t.Fatalf("feed during a send block: %s", a.raw)
	}
	if code, sub := e.send(q, map[string]string{"comment_id": "1_1"}, "hi").code(); code != 100 || sub != 33 {
		t.Fatal("another Page was throttled")
	}
	e.clk.Add(61 * time.Second)
	if a := e.send(p, map[string]string{"comment_id": cs[3]}, "hi"); a.status != 200 {
		t.Fatalf("after the block: %s", a.raw)
	}
	if e.sb.ThrottledCount(p.ID) != 2 || e.sb.ThrottledCount("") != 2 {
		t.Fatalf("throttled count %d", e.sb.ThrottledCount(p.ID))
	}
	// The window slides: three more in the same second are refused at the third.
	e.clk.Add(90 * time.Second)
	for i, want := range []int{0, 0, 0, CodeThrottled} {
		e.clk.Add(100 * time.Millisecond)
		if code, _ := e.send(p, map[string]string{"comment_id": cs[4+i]}, "hi").code(); code != want {
			t.Fatalf("send %d: code %d, want %d", i, code, want)
		}
	}
	if got := e.sb.MaxCallsIn(p.ID, time.Second); got != 4 {
		t.Fatalf("MaxCallsIn = %d, want 4", got)
	}
	// The window is a second long, its end left out: a send exactly a second
	// after the first of three is within the rate, and not in its window.
	for i, d := range []time.Duration{0, 500 * time.Millisecond, 400 * time.Millisecond, 100 * time.Millisecond} {
		e.clk.Add(d)
		if a := e.send(q, map[string]string{"comment_id": qcs[i]}, "hi"); a.status != 200 {
			t.Fatalf("other Page's send %d: %s", i, a.raw)
		}
	}
	if got := e.sb.MaxCallsIn(q.ID, time.Second); got != 3 {
		t.Fatalf("MaxCallsIn = %d, want 3", got)
	}
}

func TestThrottle(t *testing.T) {
	f := newFixture(t, Options{})
	f.sb.Throttle(f.p.ID, 3*time.Minute)
	// Page reads fall under the Pages rate limit (80001), conversations under
	// the Messenger Platform's (80006).
	for _, tc := range []struct {
		path string
		code int
		typ  string
	}{
		{"/v25.0/" + f.p.ID + "/feed", CodePagesThrottled, usagePages},
		{"/v25.0/" + f.fresh, CodePagesThrottled, usagePages},
		{"/v25.0/" + f.p.ID + "/conversations", CodeThrottled, usageMessenger},
	} {
		a := f.get(tc.path, f.p.Token)
		if code, _ := a.code(); code != tc.code {
			t.Fatalf("%s: %s", tc.path, a.raw)
		}
		if u := usage(t, a.header, f.p.ID); u["estimated_time_to_regain_access"] != 3.0 || u["type"] != tc.typ {
			t.Fatalf("%s: usage %v", tc.path, u)
		}
	}
	if code, _ := f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi").code(); code != CodeThrottled {
		t.Fatal("send not throttled")
	}
	if a := f.get("/v25.0/"+f.other.ID+"/feed", f.other.Token); a.status != 200 {
		t.Fatal("other Page throttled")
	}
	if n := f.sb.ThrottledCount(f.p.ID); n != 4 {
		t.Fatalf("ThrottledCount = %d, want 4", n)
	}
	f.clk.Add(3 * time.Minute)
	if a := f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi"); a.status != 200 {
		t.Fatalf("after: %s", a.raw)
	}
}

func TestFailRate(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Seed: 21, Faults: Faults{FailRate: 0.3}})
	p := e.page(0)
	const n = 1000
	failed := 0
	for range n {
		a := e.get("/v25.0/"+p.ID+"/feed?limit=1", p.Token)
		if a.status == 500 {
			failed++
			e := a.body["error"].(map[string]any)
			if e["code"] != 2.0 || e["is_transient"] != true {
				t.Fatalf("transient error shape: %s", a.raw)
			}
		}
	}
	if failed < 250 || failed > 350 {
		t.Fatalf("%d of %d failed, want about 300", failed, n)
	}
	if e.sb.InjectedFailures() != failed || e.sb.Calls()[EndpointFeed] != n {
		t.Fatalf("InjectedFailures %d, calls %v", e.sb.InjectedFailures(), e.sb.Calls())
	}
	e.sb.SetFaults(Faults{})
	if a := e.get("/v25.0/"+p.ID+"/feed", p.Token); a.status != 200 {
		t.Fatal("faults not cleared")
	}
}

// TestMaxListItems: a page of up to Faults.MaxListItems items is served, a
// larger one gets Graph's 500 with code 1.
func TestMaxListItems(t *testing.T) {
	e := newEnv(t, Options{Posts: 30, Seed: 24, Faults: Faults{MaxListItems: 10}})
	p := e.page(0)
	for _, tc := range []struct {
		limit  string
		status int
	}{{"10", 200}, {"11", 500}, {"", 500}} {
		a := e.get("/v25.0/"+p.ID+"/feed?limit="+tc.limit, p.Token)
		if code, _ := a.code(); a.status != tc.status || tc.status == 500 && code != CodeUnknown {
			t.Errorf("limit %q with at most 10: %d %s", tc.limit, a.status, a.raw)
		}
	}
}

func TestDroppedAnswerIsRecorded(t *testing.T) {
	f := newFixture(t, Options{Faults: Faults{DropRate: 1}})
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v25.0/"+f.p.ID+"/messages",
		strings.NewReader(sendForm(map[string]string{"comment_id": f.fresh}, "hi").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+f.p.Token)
	resp, err := f.srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("dropped answer arrived: %d", resp.StatusCode)
	}
	if errors.Is(err, io.EOF) || strings.Contains(err.Error(), "EOF") {
		t.Logf("client saw %v", err)
	}
	if f.sb.SendCount(f.fresh) != 1 || f.sb.DroppedAnswers() != 1 || !f.sb.Sends()[0].Dropped {
		t.Fatalf("send not recorded: %+v", f.sb.Sends())
	}
	f.sb.SetFaults(Faults{})
	if code, _ := f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi").code(); code != CodeAlreadyReplied {
		t.Fatal("resend after a dropped answer was not 10900")
	}
	a := f.get("/v25.0/"+f.fresh+"?fields=private_reply_conversation", f.p.Token)
	if a.body["private_reply_conversation"] == nil {
		t.Fatal("private_reply_conversation missing after a dropped answer")
	}
}

func TestLatency(t *testing.T) {
	e := newEnv(t, Options{Seed: 22, Faults: Faults{Latency: 30 * time.Millisecond, Jitter: 20 * time.Millisecond}})
	p := e.page(0)
	start := time.Now()
	e.get("/v25.0/"+p.ID, p.Token)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("answered in %v, want at least 30ms", d)
	}
}

func TestRecording(t *testing.T) {
	f := newFixture(t, Options{LogCalls: true})
	f.get("/v25.0/"+f.p.ID+"/feed", f.p.Token)
	f.get("/v25.0/"+f.pagePost+"/comments", f.p.Token)
	f.get("/v25.0/"+f.fresh, f.p.Token)
	f.get("/v25.0/"+f.p.ID+"/conversations", f.p.Token)
	f.send(f.p, map[string]string{"comment_id": f.fresh}, "one")
	f.send(f.p, map[string]string{"comment_id": f.fresh}, "two")
	f.do(http.MethodPost, "/v25.0/"+f.p.ID+"/messages", f.p.Token, convForm(f.inWindow.ID, "RESPONSE"))
	f.do(http.MethodPost, "/v25.0/"+f.p.ID+"/messages", f.p.Token, convForm(f.inWindow.ID, "RESPONSE"))
	want := map[string]int{EndpointFeed: 1, EndpointComments: 1, EndpointObject: 1, EndpointConversations: 1, EndpointMessages: 4}
	if got := f.sb.Calls(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Calls() = %v, want %v", got, want)
	}
	if f.sb.SendCount(f.fresh) != 1 || f.sb.SendCount(f.inWindow.ID) != 2 || f.sb.Duplicates() != 0 || f.sb.AlreadyRepliedCount() != 1 {
		t.Fatalf("SendCount %d/%d, Duplicates %d, AlreadyReplied %d", f.sb.SendCount(f.fresh), f.sb.SendCount(f.inWindow.ID), f.sb.Duplicates(), f.sb.AlreadyRepliedCount())
	}
	sends := f.sb.Sends()
	if len(sends) != 3 || sends[0].Text != "one" || sends[1].Kind != KindConversation || sends[1].RecipientID != f.inWindow.ID || sends[0].RecipientID != "100001" {
		t.Fatalf("Sends() = %+v", sends)
	}
	if n := len(f.sb.CallLog(f.p.ID)); n != 4 {
		t.Fatalf("CallLog has %d entries, want 4", n)
	}
	// Code 10900 keeps a second private reply from happening through the API;
	// Duplicates still counts one if the sandbox ever records it.
	f.sb.rec.send(Send{Kind: KindComment, Target: f.fresh})
	f.sb.rec.send(Send{Kind: KindConversation, Target: f.inWindow.ID})
	if n := f.sb.Duplicates(); n != 1 {
		t.Fatalf("Duplicates() = %d after a second reply to a comment, want 1", n)
	}
	f.sb.ResetStats()
	if n, _ := f.sb.SendPeak(f.p.ID); len(f.sb.Calls()) != 0 || len(f.sb.CallLog(f.p.ID)) != 0 || n != 0 || f.sb.CallCount(f.p.ID) != 0 || len(f.sb.Sends()) != 5 {
		t.Fatal("ResetStats")
	}
}

func TestConcurrentSends(t *testing.T) {
	e := newEnv(t, Options{Pages: 2, Posts: 5, Comments: 20, Seed: 23, Faults: Faults{FailRate: 0.1, DropRate: 0.1}})
	now := e.clk.Now()
	type job struct {
		p  Page
		id string
	}
	var jobs []job
	var want int
	for _, p := range e.sb.Pages() {
		for _, c := range e.sb.AllComments(p.ID) {
			jobs = append(jobs, job{p, c.ID})
			if eligible(c, now) && c.From.ID != "" {
				want++
			}
		}
	}
	const workers = 16
	var wg sync.WaitGroup
	client := e.srv.Client()
	for w := range workers {
		wg.Go(func() {
			for i := range jobs {
				j := jobs[(i+w*7)%len(jobs)]
				body := sendForm(map[string]string{"comment_id": j.id}, "hi").Encode()
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/v25.0/"+j.p.ID+"/messages", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer "+j.p.Token)
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if i%10 == 0 {
					e.sb.Calls()
					e.sb.Sends()
				}
			}
		})
	}
	wg.Wait()
	if e.sb.Duplicates() != 0 {
		t.Fatalf("%d duplicates", e.sb.Duplicates())
	}
	got := 0
	for _, j := range jobs {
		got += e.sb.SendCount(j.id)
	}
	// With 16 tries each and a 10% failure share, every eligible comment got
	// through once, and only once.
	if got != want {
		t.Fatalf("%d comments replied to, want %d eligible", got, want)
	}
	if e.sb.AlreadyRepliedCount() == 0 || e.sb.DroppedAnswers() == 0 {
		t.Fatalf("already replied %d, dropped %d", e.sb.AlreadyRepliedCount(), e.sb.DroppedAnswers())
	}
}

// FuzzPlainMember holds the send path's shortcut to encoding/json: whatever
// it reads, json.Unmarshal reads the same.
func FuzzPlainMember(f *testing.F) {
	for _, s := range []string{`{"comment_id":"1_2"}`, `{"text":"Thanks!"}`, `{"text":"a\"b"}`, `{"text":""}`,
		`{"text":"héllo"}`, "{\"text\":\"\xff\"}", `{"text":"x"}}`, `{"text":"a\u0041"}`, `{"comment_id":"1"} `} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, key := range []string{"comment_id", "text"} {
			got, ok := plainMember(v, `{"`+key+`":"`)
			if !ok {
				continue
			}
			var m map[string]*string
			if err := json.Unmarshal([]byte(v), &m); err != nil || len(m) != 1 || m[key] == nil || *m[key] != got {
				t.Fatalf("plainMember(%q) = %q; encoding/json: %v, %v", v, got, m, err)
			}
		}
	})
}

// TestSendBodyTypes: a send's parameters come from a form body (with or
// without a charset) or a JSON one; a body of another type carries none, and
// a Content-Type that does not parse is refused, as net/http's ParseForm does.
func TestSendBodyTypes(t *testing.T) {
	f := newFixture(t, Options{})
	form := sendForm(map[string]string{"comment_id": f.fresh}, "hi").Encode()
	post := func(ct, body string) answer {
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/v25.0/"+f.p.ID+"/messages", strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("Authorization", "Bearer "+f.p.Token)
		return f.roundTrip(req)
	}
	for _, ct := range []string{"text/plain", ""} {
		if a := post(ct, form); a.status != http.StatusBadRequest || !strings.Contains(a.raw, "recipient must be non-empty") {
			t.Errorf("Content-Type %q: %d %s, want the recipient missing", ct, a.status, a.raw)
		}
	}
	if a := post("application/x-www-form-urlencoded; charset=", form); a.status != http.StatusBadRequest || !strings.Contains(a.raw, "Invalid form body") {
		t.Errorf("unparsable Content-Type: %d %s", a.status, a.raw)
	}
	if f.sb.SendCount(f.fresh) != 0 {
		t.Fatalf("a refused body sent a reply")
	}
	if a := post("application/x-www-form-urlencoded; charset=UTF-8", form); a.status != http.StatusOK {
		t.Errorf("form with a charset: %d %s", a.status, a.raw)
	}
}
