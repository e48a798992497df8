package sandbox

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

// appNotLiveError is Meta's refusal of a send to a person without a role on
// an app that is not live (pymessenger#81, botframework-sdk#2510), less its
// fbtrace_id, which changes with every answer.
var appNotLiveError = map[string]any{
	"message":       "(#10) Cannot message users who are not admins, developers or testers of the app until pages_messaging permission is reviewed and the app is live.",
	"type":          "OAuthException",
	"code":          float64(10),
	"error_subcode": float64(2018028),
	"is_transient":  false,
}

// wantAppNotLive checks that a is exactly Meta's app-not-live refusal: HTTP
// 400 and its error body.
func wantAppNotLive(t *testing.T, what string, a answer) {
	t.Helper()
	if a.status != http.StatusBadRequest {
		t.Errorf("%s: status %d, want 400: %s", what, a.status, a.raw)
	}
	if len(a.body) != 1 {
		t.Errorf("%s: body has %d members, want error alone: %s", what, len(a.body), a.raw)
	}
	e, _ := a.body["error"].(map[string]any)
	got := map[string]any{}
	for k, v := range e {
		got[k] = v
	}
	if tr, _ := got["fbtrace_id"].(string); tr == "" {
		t.Errorf("%s: no fbtrace_id: %s", what, a.raw)
	}
	delete(got, "fbtrace_id")
	if !reflect.DeepEqual(got, appNotLiveError) {
		t.Errorf("%s: error %v, want %v", what, got, appNotLiveError)
	}
}

// appNotLiveEnv is a sandbox whose app is not live, with one tester: its
// first Page p has a post with a comment by a person without a role (other)
// and one by the tester, a post by the other person and a message of theirs,
// all made a minute before now.
type appNotLiveEnv struct {
	*env
	p                            Page
	tester, other                User
	now                          time.Time
	byOther, byTester, otherPost string
}

func newAppNotLiveEnv(t *testing.T, seed int64) *appNotLiveEnv {
	t.Helper()
	a := &appNotLiveEnv{tester: User{ID: "500001", Name: "Tess"}, other: User{ID: "500002", Name: "Otto"}}
	a.env = newEnv(t, Options{Seed: seed, AppNotLive: true, AppTesters: []string{a.tester.ID}})
	a.p = a.page(0)
	a.now = a.clk.Now()
	post := a.sb.AddPost(a.p.ID, User{}, "news", a.now.Add(-time.Hour))
	a.byOther = a.sb.AddComment(post, a.other, "hi", a.now.Add(-time.Minute))
	a.byTester = a.sb.AddComment(post, a.tester, "hi", a.now.Add(-time.Minute))
	a.otherPost = a.sb.AddPost(a.p.ID, a.other, "hello Page", a.now.Add(-time.Minute))
	a.sb.AddMessage(a.p.ID, a.other, "Hello?", a.now.Add(-time.Minute))
	return a
}

// TestAppNotLive_audit16: with AppNotLive, over loopback HTTP, a private
// reply (to a comment or a visitor's post) or a conversation reply to a person
// not among AppTesters is refused exactly as Meta refuses it (400, code 10,
// subcode 2018028), and nothing is sent; a tester's goes through. The refusal
// is no reply: once the app is live (SetAppNotLive false) the comment's reply
// goes through once, and a second is 10900.
func TestAppNotLive_audit16(t *testing.T) {
	e := newAppNotLiveEnv(t, 41)
	p, tester, other := e.p, e.tester, e.other
	byOther, byTester, otherPost := e.byOther, e.byTester, e.otherPost

	wantAppNotLive(t, "private reply to a non-tester's comment", e.send(p, map[string]string{"comment_id": byOther}, "hi"))
	wantAppNotLive(t, "private reply to a non-tester's post", e.send(p, map[string]string{"post_id": otherPost}, "hi"))
	wantAppNotLive(t, "conversation reply to a non-tester",
		e.do(http.MethodPost, "/v25.0/"+p.ID+"/messages", p.Token, convForm(other.ID, "RESPONSE")))
	if n := len(e.sb.Sends()); n != 0 {
		t.Fatalf("%d sends recorded for refused sends, want 0: %+v", n, e.sb.Sends())
	}
	if a := e.send(p, map[string]string{"comment_id": byTester}, "hi"); a.status != http.StatusOK || a.body["message_id"] == nil {
		t.Errorf("private reply to a tester's comment: %d %s", a.status, a.raw)
	}
	if n := e.sb.SendCount(byTester); n != 1 {
		t.Errorf("tester's comment: %d sends, want 1", n)
	}

	e.sb.SetAppNotLive(false, nil)
	if a := e.send(p, map[string]string{"comment_id": byOther}, "hi"); a.status != http.StatusOK {
		t.Errorf("private reply once the app is live: %d %s", a.status, a.raw)
	}
	if code, _ := e.send(p, map[string]string{"comment_id": byOther}, "hi").code(); code != CodeAlreadyReplied {
		t.Errorf("second private reply once the app is live: code %d, want %d", code, CodeAlreadyReplied)
	}
	if a := e.send(p, map[string]string{"post_id": otherPost}, "hi"); a.status != http.StatusOK {
		t.Errorf("post reply once the app is live: %d %s", a.status, a.raw)
	}
	if n, d := e.sb.SendCount(byOther), e.sb.Duplicates(); n != 1 || d != 0 {
		t.Errorf("non-tester's comment: %d sends, %d duplicates; want 1, 0", n, d)
	}

	// Not live again: the mode is switched at run time, for the next request.
	e.sb.SetAppNotLive(true, []string{tester.ID})
	wantAppNotLive(t, "conversation reply to a non-tester, not live again",
		e.do(http.MethodPost, "/v25.0/"+p.ID+"/messages", p.Token, convForm(other.ID, "RESPONSE")))
}

// TestAppLiveByDefault_audit16: without AppNotLive every person may be sent
// to, a tester list alone changes nothing.
func TestAppLiveByDefault_audit16(t *testing.T) {
	e := newEnv(t, Options{Seed: 42, AppTesters: []string{"500009"}})
	p := e.page(0)
	now := e.clk.Now()
	post := e.sb.AddPost(p.ID, User{}, "news", now.Add(-time.Hour))
	c := e.sb.AddComment(post, User{ID: "500003", Name: "Anna"}, "hi", now.Add(-time.Minute))
	if a := e.send(p, map[string]string{"comment_id": c}, "hi"); a.status != http.StatusOK {
		t.Errorf("private reply, app live by default: %d %s", a.status, a.raw)
	}
}
