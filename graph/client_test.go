package graph

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Distinctive credentials: no error string may ever contain them.
const (
	testToken  = "EAAGtestT0kenQv7Zx9Lm"
	testSecret = "appS3cretW4rp8Ky"
	testPage   = "1983306698425200"
)

// fixture returns testdata/name with {{BASE}} and {{TOKEN}} filled in.
func fixture(t testing.TB, name, base string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "{{BASE}}", base)
	return []byte(strings.ReplaceAll(s, "{{TOKEN}}", testToken))
}

// fakeGraph is an httptest server that checks the credentials of every
// request the way Graph would and that they never travel in a URL.
type fakeGraph struct {
	*httptest.Server
	t      *testing.T
	secret string

	mu    sync.Mutex
	urls  []string
	calls []CallInfo
}

func newFakeGraph(t *testing.T, secret string, h http.HandlerFunc) *fakeGraph {
	t.Helper()
	f := &fakeGraph{t: t, secret: secret}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.urls = append(f.urls, r.URL.String())
		f.mu.Unlock()
		if !f.checkCredentials(r) {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeGraph) checkCredentials(r *http.Request) bool {
	t := f.t
	ok := true
	if u := r.URL.String(); strings.Contains(u, "access_token") || strings.Contains(u, testToken) || strings.Contains(u, testSecret) {
		t.Errorf("credentials in URL %s", u)
		ok = false
	}
	var token, proof string
	switch r.Method {
	case http.MethodGet:
		token, _ = strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		proof = r.URL.Query().Get("appsecret_proof")
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
			return false
		}
		token = r.PostForm.Get("access_token")
		proof = r.PostForm.Get("appsecret_proof")
	}
	if token != testToken {
		t.Errorf("%s %s: token %q, want the test token", r.Method, r.URL.Path, token)
		ok = false
	}
	var want string
	if f.secret != "" {
		m := hmac.New(sha256.New, []byte(f.secret))
		m.Write([]byte(testToken))
		want = hex.EncodeToString(m.Sum(nil))
	}
	if proof != want {
		t.Errorf("%s %s: appsecret_proof %q, want %q", r.Method, r.URL.Path, proof, want)
		ok = false
	}
	return ok
}

// client returns a Client for the server that records CallInfos.
func (f *fakeGraph) client(mod ...func(*Config)) *Client {
	cfg := Config{BaseURL: f.URL, AppSecret: f.secret, Observer: func(ci CallInfo) {
		f.mu.Lock()
		f.calls = append(f.calls, ci)
		f.mu.Unlock()
	}}
	for _, m := range mod {
		m(&cfg)
	}
	return New(cfg)
}

func (f *fakeGraph) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.urls...)
}

func (f *fakeGraph) callInfos() []CallInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]CallInfo(nil), f.calls...)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	w.Write(body)
}

// feedServer serves feed_1..3.json by the after cursor.
func feedServer(t *testing.T, secret string) *fakeGraph {
	var f *fakeGraph
	f = newFakeGraph(t, secret, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v25.0/"+testPage+"/feed" {
			t.Errorf("path %s", r.URL.Path)
		}
		name := map[string]string{"": "feed_1.json", "QVFIUjJk": "feed_2.json", "QVFIUmNj": "feed_3.json"}[r.URL.Query().Get("after")]
		if name == "" {
			writeJSON(w, 400, fixture(t, "errors/100.json", f.URL))
			return
		}
		writeJSON(w, 200, fixture(t, "pages/"+name, f.URL))
	})
	return f
}

func TestFeedPaging(t *testing.T) {
	for _, tc := range []struct {
		name   string
		secret string
	}{
		{name: "no app secret"},
		{name: "app secret", secret: testSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := feedServer(t, tc.secret)
			c := f.client()
			var ids []string
			for p, err := range c.Feed(context.Background(), testToken, testPage) {
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, p.ID)
			}
			want := "1983306698425200_101 1983306698425200_100 1983306698425200_99 1983306698425200_98 1983306698425200_97"
			if got := strings.Join(ids, " "); got != want {
				t.Errorf("ids %s, want %s", got, want)
			}
			reqs := f.requests()
			if len(reqs) != 3 {
				t.Fatalf("requests %v, want 3", reqs)
			}
			if !strings.Contains(reqs[0], "limit=100") || !strings.Contains(reqs[0], "fields=id%2Ccreated_time%2Cupdated_time%2Ccan_reply_privately%2Cfrom%2Cmessage") {
				t.Errorf("first request %s", reqs[0])
			}
			if strings.Contains(reqs[2], "stale") {
				t.Errorf("echoed appsecret_proof kept: %s", reqs[2])
			}
			calls := f.callInfos()
			if len(calls) != 3 || calls[0].Endpoint != EndpointFeed || calls[0].PageID != testPage || calls[0].HTTPStatus != 200 {
				t.Errorf("call infos %+v", calls)
			}
		})
	}
}

func TestFeedDecodes(t *testing.T) {
	f := feedServer(t, "")
	for p, err := range f.client().Feed(context.Background(), testToken, testPage) {
		if err != nil {
			t.Fatal(err)
		}
		want := time.Date(2025, 11, 20, 10, 0, 0, 0, time.UTC)
		if p.ID != "1983306698425200_101" || !p.CreatedTime.Equal(want) || !p.CanReplyPrivately ||
			p.From == nil || p.From.ID != "7001" || p.From.Name != "Ana Souza" || p.Message != "Do you ship to Porto?" {
			t.Errorf("post %+v", p)
		}
		break
	}
}

func TestPagingStopsOnBreak(t *testing.T) {
	f := feedServer(t, "")
	n := 0
	for _, err := range f.client().Feed(context.Background(), testToken, testPage) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 3 { // the first item of the second page
			break
		}
	}
	if reqs := f.requests(); len(reqs) != 2 {
		t.Errorf("requests %v, want 2", reqs)
	}
}

// TestPagingOnePageAtATime checks that the iterator fetches a page only after
// the previous page was consumed, so it never holds more than one.
func TestPagingOnePageAtATime(t *testing.T) {
	f := feedServer(t, "")
	var seen []int
	for _, err := range f.client().Feed(context.Background(), testToken, testPage) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, len(f.requests()))
	}
	if got, want := seen, []int{1, 1, 2, 2, 3}; !equalInts(got, want) {
		t.Errorf("requests made when each item was yielded: %v, want %v", got, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPagingErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pages     []string // bodies served in turn; {{BASE}} filled in
		wantItems int
		wantClass Class
	}{
		{name: "error on second page", pages: []string{`{"data":[{"id":"1"}],"paging":{"next":"{{BASE}}/v25.0/p/feed?after=x"}}`, "errors/2.json"}, wantItems: 1, wantClass: ClassTransient},
		{name: "no data", pages: []string{`{"paging":{}}`}, wantClass: ClassTransient},
		{name: "data not a list", pages: []string{`{"data":{"id":"1"}}`}, wantClass: ClassTransient},
		{name: "truncated", pages: []string{`{"data":[{"id":"1"},{"id":`}, wantClass: ClassTransient},
		{name: "next loops", pages: []string{`{"data":[{"id":"1"}],"paging":{"next":"{{BASE}}/v25.0/p/feed?after=x"}}`, `{"data":[{"id":"2"}],"paging":{"next":"{{BASE}}/v25.0/p/feed?after=x"}}`}, wantItems: 2, wantClass: ClassPermanent},
		{name: "error in a 200", pages: []string{`{"error":{"message":"(#4) Application request limit reached","code":4}}`}, wantClass: ClassThrottled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				f *fakeGraph
				n int
			)
			f = newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
				body := tc.pages[min(n, len(tc.pages)-1)]
				n++
				status := 200
				if strings.HasPrefix(body, "errors/") {
					body, status = string(fixture(t, body, f.URL)), 500
				}
				writeJSON(w, status, []byte(strings.ReplaceAll(body, "{{BASE}}", f.URL)))
			})
			items := 0
			var gotErr error
			for p, err := range f.client().Feed(context.Background(), testToken, "p") {
				if err != nil {
					if p.ID != "" {
						t.Errorf("error yielded with post %+v", p)
					}
					if gotErr != nil {
						t.Fatal("second error yielded")
					}
					gotErr = err
					continue
				}
				items++
			}
			if items != tc.wantItems {
				t.Errorf("items %d, want %d", items, tc.wantItems)
			}
			if c := ClassOf(gotErr); c != tc.wantClass {
				t.Errorf("class %v, want %v (err %v)", c, tc.wantClass, gotErr)
			}
		})
	}
}

// TestPagingStaysOnHost checks that a paging.next URL pointing elsewhere is
// fetched from the configured host, so the token cannot follow it.
func TestPagingStaysOnHost(t *testing.T) {
	var n int
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		n++
		if n == 1 {
			writeJSON(w, 200, []byte(`{"data":[{"id":"1"}],"paging":{"next":"http://evil.invalid/v25.0/p/feed?after=x&access_token=`+testToken+`"}}`))
			return
		}
		if r.URL.Query().Get("after") != "x" {
			t.Errorf("second request %s", r.URL)
		}
		writeJSON(w, 200, []byte(`{"data":[{"id":"2"}]}`))
	})
	items := 0
	for _, err := range f.client().Feed(context.Background(), testToken, "p") {
		if err != nil {
			t.Fatal(err)
		}
		items++
	}
	if items != 2 {
		t.Errorf("items %d, want 2", items)
	}
}

func TestComments(t *testing.T) {
	var f *fakeGraph
	f = newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/v25.0/"+testPage+"_101/comments" || q.Get("filter") != "stream" || q.Get("order") != "reverse_chronological" ||
			q.Get("summary") != "true" || q.Get("fields") != "id,created_time,can_reply_privately,from,message,parent" || q.Get("limit") != "100" {
			t.Errorf("request %s", r.URL)
		}
		writeJSON(w, 200, fixture(t, "pages/comments.json", f.URL))
	})
	var got []Comment
	for cm, err := range f.client().Comments(context.Background(), testToken, testPage+"_101") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, cm)
	}
	if len(got) != 2 || got[0].Parent == nil || got[0].Parent.ID != "101_5001" || got[1].Parent != nil || got[1].From.ID != "7001" {
		t.Errorf("comments %+v", got)
	}
	// The listing's order is its summary's, on every comment of it.
	for _, cm := range got {
		if cm.ListOrder != OrderRanked {
			t.Errorf("comment %s: ListOrder %q, want %q from the summary", cm.ID, cm.ListOrder, OrderRanked)
		}
	}
	if calls := f.callInfos(); len(calls) != 1 || calls[0].PageID != testPage || calls[0].Endpoint != EndpointComments {
		t.Errorf("call infos %+v", calls)
	}
}

// TestCommentsOrderOfEachPage: each page's summary gives its comments' order;
// a page without a summary leaves it unknown.
func TestCommentsOrderOfEachPage(t *testing.T) {
	var f *fakeGraph
	f = newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") == "" {
			writeJSON(w, 200, []byte(`{"data":[{"id":"1_1","created_time":"2026-12-01T10:00:00+0000"}],"paging":{"cursors":{"after":"Mg"},"next":"`+f.URL+`/v25.0/1_2/comments?after=Mg"},"summary":{"order":"reverse_chronological"}}`))
			return
		}
		writeJSON(w, 200, []byte(`{"data":[{"id":"1_2","created_time":"2026-12-01T09:00:00+0000"}]}`))
	})
	var got []string
	for cm, err := range f.client().Comments(context.Background(), testToken, "1_2") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, cm.ID+":"+cm.ListOrder)
	}
	if want := []string{"1_1:reverse_chronological", "1_2:"}; !slices.Equal(got, want) {
		t.Errorf("comments %v, want %v", got, want)
	}
}

func TestConversations(t *testing.T) {
	var f *fakeGraph
	f = newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v25.0/"+testPage+"/conversations" || r.URL.Query().Get("fields") != "id,updated_time,participants,messages{message,from,created_time}" ||
			r.URL.Query().Get("platform") != "messenger" {
			t.Errorf("request %s", r.URL)
		}
		writeJSON(w, 200, fixture(t, "pages/conversations.json", f.URL))
	})
	var got []Conversation
	for cv, err := range f.client().Conversations(context.Background(), testToken, testPage) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, cv)
	}
	if len(got) != 1 {
		t.Fatalf("conversations %+v", got)
	}
	cv := got[0]
	if cv.ID != "t_10161234567890" || len(cv.Participants) != 2 || cv.Participants[0].ID != "24117000000001" ||
		len(cv.Messages) != 2 || cv.Messages[0].ID != "m_abc2" || cv.Messages[0].From.ID != "24117000000001" ||
		!cv.Messages[0].CreatedTime.Equal(time.Date(2025, 11, 24, 11, 2, 0, 0, time.UTC)) {
		t.Errorf("conversation %+v", cv)
	}
}

func TestObjectCalls(t *testing.T) {
	var f *fakeGraph
	f = newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		fields := r.URL.Query().Get("fields")
		switch {
		case r.URL.Path == "/v25.0/101_5001" && fields == commentFields:
			writeJSON(w, 200, fixture(t, "pages/object_comment.json", f.URL))
		case r.URL.Path == "/v25.0/"+testPage+"_101" && fields == postFields:
			writeJSON(w, 200, []byte(`{"id":"1983306698425200_101","created_time":"2025-11-20T10:00:00+0000","updated_time":"2025-11-24T09:30:00+0000","can_reply_privately":true,"from":{"name":"Ana Souza","id":"7001"}}`))
		case r.URL.Path == "/v25.0/101_5001" && fields == "private_reply_conversation":
			writeJSON(w, 200, []byte(`{"private_reply_conversation":{"id":"t_998877"},"id":"101_5001"}`))
		case r.URL.Path == "/v25.0/101_5002" && fields == "private_reply_conversation":
			writeJSON(w, 200, []byte(`{"id":"101_5002"}`))
		default:
			writeJSON(w, 400, fixture(t, "errors/100.json", f.URL))
		}
	})
	c := f.client()
	ctx := WithPageID(context.Background(), testPage)

	cm, err := c.Comment(ctx, testToken, "101_5001")
	if err != nil || cm.ID != "101_5001" || !cm.CanReplyPrivately || cm.Message != "How much is shipping?" {
		t.Errorf("Comment: %+v, %v", cm, err)
	}
	p, err := c.Post(context.Background(), testToken, testPage+"_101")
	if err != nil || p.ID != testPage+"_101" || p.UpdatedTime.IsZero() {
		t.Errorf("Post: %+v, %v", p, err)
	}
	for _, tc := range []struct {
		name, id, want string
	}{
		{name: "sent", id: "101_5001", want: "t_998877"},
		{name: "not sent", id: "101_5002", want: ""},
	} {
		got, err := c.PrivateReplyConversation(ctx, testToken, tc.id)
		if err != nil || got != tc.want {
			t.Errorf("%s: PrivateReplyConversation = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	_, err = c.Comment(ctx, testToken, "nope")
	if !errors.Is(err, ErrPermanent) {
		t.Errorf("bad id: %v", err)
	}
	for _, ci := range f.callInfos() {
		if ci.Endpoint != EndpointObject || ci.PageID != testPage {
			t.Errorf("call info %+v", ci)
		}
	}
}

func TestSend(t *testing.T) {
	for _, tc := range []struct {
		name          string
		send          func(*Client) (SendResult, error)
		wantRecipient string
		wantType      string
	}{
		{
			name: "comment",
			send: func(c *Client) (SendResult, error) {
				return c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "101_5001"}, `Hi "Ana" & co`)
			},
			wantRecipient: `{"comment_id":"101_5001"}`,
		},
		{
			name: "post",
			send: func(c *Client) (SendResult, error) {
				return c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{PostID: testPage + "_101"}, `Hi "Ana" & co`)
			},
			wantRecipient: `{"post_id":"1983306698425200_101"}`,
		},
		{
			name: "conversation",
			send: func(c *Client) (SendResult, error) {
				return c.SendMessage(context.Background(), testToken, testPage, "24117000000001", `Hi "Ana" & co`)
			},
			wantRecipient: `{"id":"24117000000001"}`,
			wantType:      "RESPONSE",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/v25.0/"+testPage+"/messages" || r.URL.RawQuery != "" {
					t.Errorf("request %s %s", r.Method, r.URL)
				}
				if got := r.PostForm.Get("recipient"); got != tc.wantRecipient {
					t.Errorf("recipient %s, want %s", got, tc.wantRecipient)
				}
				var msg struct{ Text string }
				if err := json.Unmarshal([]byte(r.PostForm.Get("message")), &msg); err != nil || msg.Text != `Hi "Ana" & co` {
					t.Errorf("message %s: %v", r.PostForm.Get("message"), err)
				}
				if got := r.PostForm.Get("messaging_type"); got != tc.wantType {
					t.Errorf("messaging_type %q, want %q", got, tc.wantType)
				}
				writeJSON(w, 200, []byte(`{"recipient_id":"24117000000001","message_id":"m_AbC123"}`))
			})
			res, err := tc.send(f.client())
			if err != nil || res.MessageID != "m_AbC123" || res.RecipientID != "24117000000001" {
				t.Errorf("send = %+v, %v", res, err)
			}
			if calls := f.callInfos(); len(calls) != 1 || calls[0].Endpoint != EndpointMessages || calls[0].PageID != testPage {
				t.Errorf("call infos %+v", calls)
			}
		})
	}
}

func TestSendInvalid(t *testing.T) {
	c := New(Config{BaseURL: "http://127.0.0.1:1"})
	for _, tc := range []struct {
		name string
		send func() (SendResult, error)
	}{
		{name: "no recipient", send: func() (SendResult, error) {
			return c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{}, "x")
		}},
		{name: "two recipients", send: func() (SendResult, error) {
			return c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1", PostID: "2"}, "x")
		}},
		{name: "psid", send: func() (SendResult, error) {
			return c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{PSID: "1"}, "x")
		}},
		{name: "empty text", send: func() (SendResult, error) {
			return c.SendMessage(context.Background(), testToken, testPage, "1", "")
		}},
		{name: "empty psid", send: func() (SendResult, error) {
			return c.SendMessage(context.Background(), testToken, testPage, "", "x")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.send()
			var ge *Error
			if !errors.As(err, &ge) || ge.Class != ClassPermanent || ge.Unknown {
				t.Errorf("err %#v", err)
			}
		})
	}
}

func TestBadBaseURL(t *testing.T) {
	c := New(Config{BaseURL: "graph.facebook.com"})
	_, err := c.Comment(context.Background(), testToken, "1")
	if ClassOf(err) != ClassPermanent || !strings.Contains(err.Error(), "base URL") {
		t.Errorf("err %v", err)
	}
	for _, err := range c.Feed(context.Background(), testToken, "1") {
		if ClassOf(err) != ClassPermanent {
			t.Errorf("feed err %v", err)
		}
	}
}

func TestAppSecretProof(t *testing.T) {
	// RFC 4231-style well-known vector for HMAC-SHA256.
	got := AppSecretProof("key", "The quick brown fox jumps over the lazy dog")
	if want := "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"; got != want {
		t.Errorf("AppSecretProof = %s, want %s", got, want)
	}
}

func TestErrorClasses(t *testing.T) {
	bucUsage := `{"` + testPage + `":[{"type":"pages","call_count":100,"total_cputime":4,"total_time":6,"estimated_time_to_regain_access":15}]}`
	for _, tc := range []struct {
		name        string
		status      int
		fixture     string
		body        string // served when there is no fixture
		contentType string
		header      map[string]string
		post        bool
		wantClass   Class
		wantCode    int
		wantSub     int
		wantSent    error
		wantRetry   time.Duration
		wantUnknown bool
		wantInMsg   string
	}{
		{name: "10900 already replied", status: 400, fixture: "10900.json", post: true, wantClass: ClassAlreadyReplied, wantCode: 10900, wantSent: ErrAlreadyReplied, wantInMsg: "(#10900) Activity already replied to"},
		{name: "10903 too old", status: 400, fixture: "10903.json", post: true, wantClass: ClassPermanent, wantCode: 10903, wantSub: 2018249, wantSent: ErrPermanent},
		{name: "190 expired token", status: 400, fixture: "190.json", wantClass: ClassPageBroken, wantCode: 190, wantSub: 463, wantSent: ErrPageBroken},
		{name: "4 app limit", status: 403, fixture: "4.json", wantClass: ClassThrottled, wantCode: 4, wantSent: ErrThrottled},
		{name: "80006 with BUC usage", status: 400, fixture: "80006.json", post: true, header: map[string]string{"X-Business-Use-Case-Usage": bucUsage},
			wantClass: ClassThrottled, wantCode: 80006, wantSent: ErrThrottled, wantRetry: 15 * time.Minute},
		{name: "613 with Retry-After", status: 400, fixture: "613.json", header: map[string]string{"Retry-After": "120"}, wantClass: ClassThrottled, wantCode: 613, wantSent: ErrThrottled, wantRetry: 2 * time.Minute},
		{name: "1 transient", status: 500, fixture: "1.json", wantClass: ClassTransient, wantCode: 1, wantSub: 99, wantSent: ErrTransient},
		{name: "2 transient on send", status: 500, fixture: "2.json", post: true, wantClass: ClassTransient, wantCode: 2, wantSent: ErrTransient, wantUnknown: true},
		{name: "2 transient on a 400 send", status: 400, fixture: "2.json", post: true, wantClass: ClassTransient, wantCode: 2, wantSent: ErrTransient, wantUnknown: true},
		{name: "500 on a send with BUC usage at the limit", status: 500, fixture: "2.json", post: true, header: map[string]string{"X-Business-Use-Case-Usage": bucUsage},
			wantClass: ClassThrottled, wantCode: 2, wantSent: ErrThrottled, wantRetry: 15 * time.Minute, wantUnknown: true},
		{name: "10903 on a send with BUC usage at the limit", status: 400, fixture: "10903.json", post: true, header: map[string]string{"X-Business-Use-Case-Usage": bucUsage},
			wantClass: ClassThrottled, wantCode: 10903, wantSub: 2018249, wantSent: ErrThrottled, wantRetry: 15 * time.Minute},
		// Usage at the limit makes throttled only what would be retried or
		// archived: a reply Graph says exists stays done, a broken Page
		// stays broken (paused as such, for at least Graph's time).
		{name: "10900 on a send with BUC usage at the limit", status: 400, fixture: "10900.json", post: true, header: map[string]string{"X-Business-Use-Case-Usage": bucUsage},
			wantClass: ClassAlreadyReplied, wantCode: 10900, wantSent: ErrAlreadyReplied, wantRetry: 15 * time.Minute},
		{name: "190 with BUC usage at the limit", status: 400, fixture: "190.json", header: map[string]string{"X-Business-Use-Case-Usage": bucUsage},
			wantClass: ClassPageBroken, wantCode: 190, wantSub: 463, wantSent: ErrPageBroken, wantRetry: 15 * time.Minute},
		{name: "341 application limit", status: 400, fixture: "341.json", post: true, wantClass: ClassThrottled, wantCode: 341, wantSent: ErrThrottled},
		{name: "3 capability", status: 400, fixture: "3.json", post: true, wantClass: ClassPageBroken, wantCode: 3, wantSent: ErrPageBroken},
		{name: "1200 temporary send failure", status: 400, fixture: "1200.json", post: true, wantClass: ClassTransient, wantCode: 1200, wantSent: ErrTransient, wantUnknown: true},
		{name: "1200 on a read", status: 400, fixture: "1200.json", wantClass: ClassTransient, wantCode: 1200, wantSent: ErrTransient},
		{name: "500 HTML", status: 500, fixture: "500.html", contentType: "text/html; charset=utf-8", wantClass: ClassTransient, wantSent: ErrTransient, wantInMsg: "HTTP 500 with a non-JSON body"},
		{name: "502 HTML on send", status: 502, fixture: "500.html", contentType: "text/html", post: true, wantClass: ClassTransient, wantSent: ErrTransient, wantUnknown: true},
		{name: "100 bad id", status: 400, fixture: "100.json", wantClass: ClassPermanent, wantCode: 100, wantSub: 33, wantSent: ErrPermanent},
		// Graph refuses the app secret's proof with a bare 100: the
		// configuration is wrong, not the reply, so the Page pauses.
		{name: "100 wrong appsecret_proof on a send", status: 400, fixture: "100_proof.json", post: true, wantClass: ClassPageBroken, wantCode: 100, wantSent: ErrPageBroken, wantInMsg: "Invalid appsecret_proof"},
		{name: "100 wrong appsecret_proof on a read", status: 400, fixture: "100_proof.json", wantClass: ClassPageBroken, wantCode: 100, wantSent: ErrPageBroken},
		{name: "100 appsecret_proof required", status: 400, fixture: "100_proof_required.json", post: true, wantClass: ClassPageBroken, wantCode: 100, wantSent: ErrPageBroken},
		{name: "100 with usage near the limit", status: 400, fixture: "100.json", header: map[string]string{"X-App-Usage": `{"call_count":99,"total_cputime":10,"total_time":12}`},
			wantClass: ClassThrottled, wantCode: 100, wantSub: 33, wantSent: ErrThrottled},
		{name: "368 policy block", status: 400, fixture: "368.json", post: true, wantClass: ClassPageBroken, wantCode: 368, wantSub: 1390008, wantSent: ErrPageBroken},
		// A 5xx on a send may come after Graph acted, whatever its code: the
		// next attempt checks before sending again.
		{name: "368 on a 500 send", status: 500, fixture: "368.json", post: true, wantClass: ClassPageBroken, wantCode: 368, wantSub: 1390008, wantSent: ErrPageBroken, wantUnknown: true},
		{name: "10 outside window", status: 400, fixture: "10_window.json", post: true, wantClass: ClassPermanent, wantCode: 10, wantSub: 2018278, wantSent: ErrPermanent},
		{name: "10 outside window, 2018065", status: 400, fixture: "10_window_2018065.json", post: true, wantClass: ClassPermanent, wantCode: 10, wantSub: 2018065, wantSent: ErrPermanent},
		{name: "10 person not receiving", status: 400, fixture: "10_not_receiving.json", post: true, wantClass: ClassPermanent, wantCode: 10, wantSub: 2018108, wantSent: ErrPermanent},
		// Another app (a helpdesk inbox) holds the person's thread: that
		// thread only, and for a while: retried later, and nothing was sent.
		{name: "10 thread controlled by another app", status: 400, fixture: "10_thread_control.json", post: true, wantClass: ClassTransient, wantCode: 10, wantSub: 2018300, wantSent: ErrTransient},
		{name: "2022 Messenger block", status: 400, fixture: "2022.json", post: true, wantClass: ClassPageBroken, wantCode: 2022, wantSent: ErrPageBroken},
		{name: "200 permission", status: 403, fixture: "200.json", post: true, wantClass: ClassPageBroken, wantCode: 200, wantSent: ErrPageBroken},
		{name: "200 person unavailable", status: 400, fixture: "200_unavailable.json", post: true, wantClass: ClassPermanent, wantCode: 200, wantSub: 1545041, wantSent: ErrPermanent},
		{name: "551 unavailable", status: 400, fixture: "551.json", post: true, wantClass: ClassPermanent, wantCode: 551, wantSub: 1545041, wantSent: ErrPermanent},
		// Graph's own errors always come in its JSON envelope: a 4xx without
		// one is a proxy's or another server's, and says nothing about the
		// reply, so it is tried again (on a send, after checking).
		{name: "404 without body", status: 404, fixture: "", wantClass: ClassTransient, wantSent: ErrTransient, wantInMsg: "HTTP 404 with an empty body"},
		{name: "403 HTML on a send", status: 403, fixture: "500.html", contentType: "text/html", post: true, wantClass: ClassTransient, wantSent: ErrTransient, wantUnknown: true, wantInMsg: "HTTP 403 with a non-JSON body"},
		{name: "407 HTML on a read", status: 407, fixture: "500.html", contentType: "text/html", wantClass: ClassTransient, wantSent: ErrTransient},
		{name: "400 with another JSON on a send", status: 400, fixture: "", body: `{"message":"Bad request"}`, post: true, wantClass: ClassTransient, wantSent: ErrTransient, wantUnknown: true, wantInMsg: "HTTP 400 with an unexpected JSON body"},
		{name: "429 HTML", status: 429, fixture: "500.html", contentType: "text/html", wantClass: ClassThrottled, wantSent: ErrThrottled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f *fakeGraph
			f = newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				ct := tc.contentType
				if ct == "" {
					ct = "application/json"
				}
				w.Header().Set("Content-Type", ct)
				w.WriteHeader(tc.status)
				if tc.fixture != "" {
					w.Write(fixture(t, "errors/"+tc.fixture, f.URL))
				} else {
					w.Write([]byte(tc.body))
				}
			})
			c := f.client()
			var err error
			if tc.post {
				_, err = c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "101_5001"}, "hi")
			} else {
				_, err = c.Comment(context.Background(), testToken, "101_5001")
			}
			var ge *Error
			if !errors.As(err, &ge) {
				t.Fatalf("err %v is not a *Error", err)
			}
			if ge.Class != tc.wantClass || ClassOf(err) != tc.wantClass {
				t.Errorf("class %v, want %v", ge.Class, tc.wantClass)
			}
			if ge.Code != tc.wantCode || ge.Subcode != tc.wantSub || ge.HTTPStatus != tc.status {
				t.Errorf("code %d/%d http %d, want %d/%d http %d", ge.Code, ge.Subcode, ge.HTTPStatus, tc.wantCode, tc.wantSub, tc.status)
			}
			if !errors.Is(err, tc.wantSent) {
				t.Errorf("errors.Is(err, %v) = false", tc.wantSent)
			}
			for _, s := range []error{ErrThrottled, ErrTransient, ErrAlreadyReplied, ErrPermanent, ErrPageBroken} {
				if s != tc.wantSent && errors.Is(err, s) {
					t.Errorf("errors.Is(err, %v) = true", s)
				}
			}
			if ge.RetryAfter != tc.wantRetry {
				t.Errorf("RetryAfter %v, want %v", ge.RetryAfter, tc.wantRetry)
			}
			if ge.Unknown != tc.wantUnknown {
				t.Errorf("Unknown %v, want %v", ge.Unknown, tc.wantUnknown)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "graph: "+ge.Endpoint+": ") || !strings.Contains(msg, "class "+tc.wantClass.String()) || !strings.Contains(msg, tc.wantInMsg) {
				t.Errorf("message %q", msg)
			}
			if tc.fixture != "" && strings.HasSuffix(tc.fixture, ".json") && (ge.FBTraceID == "" || !strings.Contains(msg, ge.FBTraceID)) {
				t.Errorf("fbtrace missing: %q", msg)
			}
			calls := f.callInfos()
			if len(calls) != 1 || calls[0].Code != tc.wantCode || calls[0].HTTPStatus != tc.status || calls[0].Usage != ge.Usage {
				t.Errorf("call infos %+v, error usage %+v", calls, ge.Usage)
			}
		})
	}
}

func TestErrorMessageExample(t *testing.T) {
	e := decodeError(400, "application/json", fixture(t, "errors/10900.json", ""))
	e.Endpoint = EndpointMessages
	want := "graph: messages: (#10900) Activity already replied to [code 10900, http 400, class already_replied, fbtrace AqD9mN3oLQyK7tW2xR5eB1c]"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestSuccessWithThrottledUsage(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Page-Usage", `{"call_count":97,"total_cputime":12,"total_time":20,"estimated_time_to_regain_access":3}`)
		writeJSON(w, 200, []byte(`{"recipient_id":"1","message_id":"m_1"}`))
	})
	res, err := f.client().SendMessage(context.Background(), testToken, testPage, "1", "hi")
	if err != nil || res.MessageID != "m_1" {
		t.Fatalf("send = %+v, %v", res, err)
	}
	calls := f.callInfos()
	if len(calls) != 1 || calls[0].Code != 0 || calls[0].Usage != (Usage{MaxPercent: 97, RegainAccess: 3 * time.Minute}) || !calls[0].Usage.Throttled() {
		t.Errorf("call infos %+v", calls)
	}
}

func TestMalformedSuccess(t *testing.T) {
	for _, tc := range []struct {
		name        string
		body        string
		post        bool
		cut         bool // the connection ends before the announced length
		wantUnknown bool
	}{
		{name: "html on get", body: "<html>ok</html>"},
		{name: "array on get", body: "[1,2]"},
		{name: "wrong field type on get", body: `{"id":5}`},
		{name: "bad time on get", body: `{"id":"1","created_time":"yesterday"}`},
		{name: "html on send", body: "<html>ok</html>", post: true, wantUnknown: true},
		{name: "truncated send", body: `{"recipient_id":"1","mess`, post: true, wantUnknown: true},
		{name: "send without message id", body: `{"recipient_id":"1"}`, post: true, wantUnknown: true},
		{name: "empty send", body: ``, post: true, wantUnknown: true},
		// A 2xx whose body is cut off is a send Graph may have made: the
		// next attempt checks before sending again.
		{name: "send cut short", body: `{"recipient_id":"1","message_id":"m_1"}`, post: true, cut: true, wantUnknown: true},
		{name: "get cut short", body: `{"id":"1"}`, cut: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
				if tc.cut {
					w.Header().Set("Content-Length", strconv.Itoa(len(tc.body)+10))
				}
				writeJSON(w, 200, []byte(tc.body))
			})
			var err error
			if tc.post {
				_, err = f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{PostID: "p_1"}, "hi")
			} else {
				_, err = f.client().Comment(context.Background(), testToken, "1")
			}
			var ge *Error
			if !errors.As(err, &ge) || ge.Class != ClassTransient || ge.Unknown != tc.wantUnknown || ge.HTTPStatus != 200 {
				t.Errorf("err %v (%+v)", err, ge)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.Write([]byte(`{"data":[`))
		chunk := []byte(strings.Repeat(`{"id":"1234567890"},`, 1000))
		for n := 0; n <= maxBody; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	for _, err := range f.client().Feed(context.Background(), testToken, "p") {
		if err == nil {
			t.Fatal("items yielded from an oversized body")
		}
		if ClassOf(err) != ClassTransient || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("err %v", err)
		}
	}
}

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		name        string
		post        bool
		wantUnknown bool
	}{
		{name: "send", post: true, wantUnknown: true},
		{name: "get", post: false, wantUnknown: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
				select {
				case <-release:
				case <-time.After(5 * time.Second):
				}
			})
			t.Cleanup(func() { close(release) })
			c := f.client(func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond })
			var err error
			if tc.post {
				_, err = c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
			} else {
				_, err = c.PrivateReplyConversation(context.Background(), testToken, "1_2")
			}
			var ge *Error
			if !errors.As(err, &ge) || ge.Class != ClassTransient || ge.Unknown != tc.wantUnknown || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err %v (%+v)", err, ge)
			}
			if !strings.Contains(err.Error(), "timeout") {
				t.Errorf("message %q", err.Error())
			}
			if calls := f.callInfos(); len(calls) != 1 || calls[0].HTTPStatus != 0 {
				t.Errorf("call infos %+v", calls)
			}
		})
	}
}

// TestConnectionClosedAfterWrite: the server reads the whole request, then
// drops the connection without answering, as when Graph acted and the answer
// was lost.
func TestConnectionClosedAfterWrite(t *testing.T) {
	f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
	})
	_, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
	var ge *Error
	if !errors.As(err, &ge) || ge.Class != ClassTransient || !ge.Unknown || ge.HTTPStatus != 0 || ge.Err == nil {
		t.Fatalf("err %v (%+v)", err, ge)
	}
	if !errors.Is(err, ErrTransient) {
		t.Errorf("not ErrTransient: %v", err)
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(Config{BaseURL: url}).SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
	var ge *Error
	if !errors.As(err, &ge) || ge.Class != ClassTransient || ge.Unknown {
		t.Fatalf("err %v (%+v)", err, ge)
	}
}

func TestContextCanceled(t *testing.T) {
	f := feedServer(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range f.client().Feed(ctx, testToken, testPage) {
		if !errors.Is(err, context.Canceled) || ClassOf(err) != ClassTransient {
			t.Errorf("err %v", err)
		}
	}
}

// TestNoSecretsInErrors drives every failure mode with distinctive
// credentials and checks that no error string holds them.
func TestNoSecretsInErrors(t *testing.T) {
	modes := map[string]http.HandlerFunc{
		"echoed token": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 400, fixture(t, "errors/190_echo.json", ""))
		},
		"echoed secret in html": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(502)
			w.Write([]byte("<html>" + testSecret + testToken + "</html>"))
		},
		"token in message fields": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 400, []byte(`{"error":{"message":"bad `+testToken+`","error_user_msg":"`+testSecret+`","error_user_title":"`+testToken+`","type":"`+testSecret+`","code":100,"fbtrace_id":"`+testToken+`"}}`))
		},
		"malformed 200": func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, []byte(`{"data":[`+testToken))
		},
		"echoed proof": func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			writeJSON(w, 400, []byte(`{"error":{"message":"Invalid appsecret_proof provided in the API argument: `+r.Form.Get("appsecret_proof")+`","type":"GraphMethodException","code":100,"fbtrace_id":"`+r.Form.Get("appsecret_proof")+`"}}`))
		},
		"hijack": func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.Close()
		},
		"slow": func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(300 * time.Millisecond)
		},
	}
	for name, h := range modes {
		t.Run(name, func(t *testing.T) {
			f := newFakeGraph(t, testSecret, h)
			c := f.client(func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond })
			ctx := context.Background()
			var errs []error
			_, err := c.SendPrivateReply(ctx, testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
			errs = append(errs, err)
			_, err = c.SendMessage(ctx, testToken, testPage, "7", "hi")
			errs = append(errs, err)
			_, err = c.Comment(ctx, testToken, "1_2")
			errs = append(errs, err)
			_, err = c.Post(ctx, testToken, "1_2")
			errs = append(errs, err)
			_, err = c.PrivateReplyConversation(ctx, testToken, "1_2")
			errs = append(errs, err)
			for _, err := range c.Feed(ctx, testToken, testPage) {
				errs = append(errs, err)
			}
			for _, err := range c.Comments(ctx, testToken, "1_2") {
				errs = append(errs, err)
			}
			for _, err := range c.Conversations(ctx, testToken, testPage) {
				errs = append(errs, err)
			}
			for i, err := range errs {
				if err == nil {
					t.Errorf("call %d: no error", i)
					continue
				}
				msg := err.Error()
				if strings.Contains(msg, testToken) || strings.Contains(msg, testSecret) || strings.Contains(msg, AppSecretProof(testSecret, testToken)) {
					t.Errorf("call %d: secret in %q", i, msg)
				}
				if name != "echoed proof" && strings.Contains(msg, "appsecret_proof") || strings.Contains(msg, f.URL) {
					t.Errorf("call %d: URL in %q", i, msg)
				}
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		srv.Close()
		c := New(Config{BaseURL: srv.URL, AppSecret: testSecret})
		_, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
		_, err2 := c.Comment(context.Background(), testToken, "1_2")
		for _, err := range []error{err, err2} {
			if msg := err.Error(); strings.Contains(msg, testToken) || strings.Contains(msg, testSecret) || strings.Contains(msg, "appsecret_proof") {
				t.Errorf("secret in %q", msg)
			}
		}
	})
}

// TestNeverFollowsRedirects: a 3xx is an answer, not a hop, with the default
// client and with a given one that would follow it (a redirect could carry
// the token to another host), and with one that goes through http.Client
// (a timeout of its own).
func TestNeverFollowsRedirects(t *testing.T) {
	var hops sync.Map
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Store(r.URL.Path, true)
		w.Write([]byte(`{"recipient_id":"1","message_id":"m_1"}`))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	for name, hc := range map[string]*http.Client{
		"default":      nil,
		"given":        {},
		"with timeout": {Timeout: 5 * time.Second},
	} {
		c := New(Config{BaseURL: srv.URL, HTTPClient: hc})
		_, err := c.SendPrivateReply(context.Background(), testToken, "1", Recipient{CommentID: "1_2"}, "hi")
		var ge *Error
		if !errors.As(err, &ge) || ge.HTTPStatus != http.StatusTemporaryRedirect {
			t.Errorf("%s client: err = %v, want the 307 as an error", name, err)
		}
		if hc != nil && hc.CheckRedirect != nil {
			t.Errorf("%s client: the caller's client was changed", name)
		}
	}
	hops.Range(func(k, _ any) bool { t.Errorf("a redirect was followed to %v", k); return true })
}

// TestUsageFollowsEachAnswer: the client remembers the last usage headers it
// read, and must still report each answer's own, whether it repeats the last
// one, changes in any of the three headers (X-App-Usage the same while
// X-Page-Usage or X-Business-Use-Case-Usage moves), or has none.
func TestUsageFollowsEachAnswer(t *testing.T) {
	const low = `{"call_count":10,"total_cputime":1,"total_time":1}`
	answers := []map[string]string{
		{"X-App-Usage": low},
		{"X-App-Usage": low},
		{"X-App-Usage": `{"call_count":97,"total_cputime":1,"total_time":1}`},
		{"X-App-Usage": low},
		{"X-App-Usage": low, "X-Page-Usage": `{"call_count":96,"total_cputime":1,"total_time":1}`},
		{"X-App-Usage": low, "X-Business-Use-Case-Usage": `{"1":[{"type":"pages","call_count":99,"total_cputime":1,"total_time":1}]}`},
		{"X-App-Usage": low},
		{},
	}
	var next atomic.Int32 // the calls are sequential; the server's goroutines differ
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range answers[next.Add(1)-1] {
			w.Header().Set(k, v)
		}
		w.Write([]byte(`{"recipient_id":"1","message_id":"m_1"}`))
	}))
	defer srv.Close()
	var got []int
	c := New(Config{BaseURL: srv.URL, Observer: func(ci CallInfo) { got = append(got, ci.Usage.MaxPercent) }})
	for range answers {
		if _, err := c.SendPrivateReply(context.Background(), testToken, "1", Recipient{CommentID: "1_2"}, "hi"); err != nil {
			t.Fatal(err)
		}
	}
	if want := []int{10, 10, 97, 10, 96, 99, 10, 0}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("usage per answer = %v, want %v", got, want)
	}
}
