package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mutation-audit tests of client.go: how a request is built, bounded in time
// and read, and what its errors may say.

// TestVersionInPath: the configured Graph API version is the first segment
// of every call's path, reads and sends alike, and every call asks for JSON.
func TestVersionInPath(t *testing.T) {
	f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		if got := r.Header.Get("Accept"); got != "application/json" {
			t.Errorf("%s %s: Accept %q", r.Method, r.URL.Path, got)
		}
		if r.Method == http.MethodPost {
			writeJSON(w, 200, []byte(`{"recipient_id":"1","message_id":"m_1"}`))
			return
		}
		writeJSON(w, 200, []byte(`{"id":"1_2"}`))
	})
	c := f.client(func(cfg *Config) { cfg.Version = "v19.0" })
	ctx := context.Background()
	if _, err := c.Comment(ctx, testToken, "1_2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PrivateReplyConversation(ctx, testToken, "1_2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendPrivateReply(ctx, testToken, testPage, Recipient{CommentID: "1_2"}, "hi"); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("requests %v", reqs)
	}
	for _, u := range reqs {
		if !strings.HasPrefix(u, "/v19.0/") {
			t.Errorf("request %s is not under /v19.0/", u)
		}
	}
}

// deadlineTransport records the deadline of each request's context and sends
// it over loopback.
type deadlineTransport struct {
	mu        sync.Mutex
	deadlines []time.Time
}

func (d *deadlineTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	dl, ok := r.Context().Deadline()
	if ok {
		d.mu.Lock()
		d.deadlines = append(d.deadlines, dl)
		d.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestRequestDeadline: each request is bounded by Config.Timeout, or by 10s
// when it is zero. The bound is read from the request's context deadline,
// which must lie between start+timeout and end+timeout: no clock race.
func TestRequestDeadline(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"recipient_id":"1","message_id":"m_1"}`))
	})
	for _, tc := range []struct {
		timeout, want time.Duration
	}{
		{timeout: 0, want: 10 * time.Second},
		{timeout: 3 * time.Second, want: 3 * time.Second},
	} {
		rt := &deadlineTransport{}
		c := New(Config{BaseURL: f.URL, Timeout: tc.timeout, HTTPClient: &http.Client{Transport: rt}})
		before := time.Now()
		if _, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi"); err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		if len(rt.deadlines) != 1 {
			t.Fatalf("timeout %v: %d deadlines", tc.timeout, len(rt.deadlines))
		}
		dl := rt.deadlines[0]
		if dl.Before(before.Add(tc.want)) || dl.After(after.Add(tc.want)) {
			t.Errorf("timeout %v: deadline %v after the start, want %v", tc.timeout, dl.Sub(before), tc.want)
		}
	}
}

// TestGivenClientsJarIsUsed: a given http.Client with a cookie jar is used as
// a client (its jar sees the request), not bypassed for its transport.
func TestGivenClientsJarIsUsed(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("lb"); err != nil || c.Value != "7" {
			t.Errorf("cookie lb: %v, %v", c, err)
		}
		writeJSON(w, 200, []byte(`{"id":"1_2"}`))
	})
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(f.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "lb", Value: "7"}})
	c := New(Config{BaseURL: f.URL, HTTPClient: &http.Client{Jar: jar}})
	if _, err := c.Comment(context.Background(), testToken, "1_2"); err != nil {
		t.Fatal(err)
	}
}

// TestBodyArrivingInPieces: an answer with a Content-Length that arrives in
// several reads is read whole.
func TestBodyArrivingInPieces(t *testing.T) {
	msg := strings.Repeat("a", 256<<10)
	body := []byte(`{"id":"1_2","message":"` + msg + `"}`)
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(200)
		w.Write(body[:100])
		http.NewResponseController(w).Flush()
		time.Sleep(20 * time.Millisecond) // the rest comes later: a read ends at the first piece
		w.Write(body[100:])
	})
	cm, err := f.client().Comment(context.Background(), testToken, "1_2")
	if err != nil || cm.Message != msg {
		t.Fatalf("Comment: message of %d bytes, %v", len(cm.Message), err)
	}
}

// TestBodyOfExactlyTheLimit: a body of maxBody bytes is not "larger than"
// maxBody, with or without a Content-Length.
func TestBodyOfExactlyTheLimit(t *testing.T) {
	head := []byte(`{"id":"1_2","message":"x"}`)
	body := append(head, []byte(strings.Repeat(" ", maxBody-len(head)))...)
	for _, withLength := range []bool{true, false} {
		f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
			if withLength {
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			}
			w.WriteHeader(200)
			w.Write(body)
		})
		cm, err := f.client().Comment(context.Background(), testToken, "1_2")
		if err != nil || cm.ID != "1_2" {
			t.Errorf("length announced %v: %+v, %v", withLength, cm, err)
		}
	}
}

// TestSendErrorCutShort: an error answer to a send whose body is cut off is
// of unknown outcome, after a 5xx and after a 4xx alike: Graph answers some
// sends that went through under a 4xx (TestSendFourxxCutShortIsUnknown),
// and only the body, lost here, would tell.
func TestSendErrorCutShort(t *testing.T) {
	for _, tc := range []struct {
		status      int
		wantUnknown bool
	}{
		{status: 500, wantUnknown: true},
		{status: 503, wantUnknown: true},
		{status: 400, wantUnknown: true},
		{status: 403, wantUnknown: true},
	} {
		f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "500")
			writeJSON(w, tc.status, []byte(`{"error":{"message":"x","code":1`))
		})
		_, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
		var ge *Error
		if !errors.As(err, &ge) || ge.Unknown != tc.wantUnknown || ge.HTTPStatus != tc.status || ge.Class != ClassTransient {
			t.Errorf("%d cut short: err %v (%+v), want Unknown %v", tc.status, err, ge, tc.wantUnknown)
		}
	}
}

// TestMultipleChoicesIsNotSuccess: a 300 is not a 2xx, whatever its body.
func TestMultipleChoicesIsNotSuccess(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 300, []byte(`{"recipient_id":"1","message_id":"m_1"}`))
	})
	res, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
	var ge *Error
	if !errors.As(err, &ge) || ge.HTTPStatus != 300 {
		t.Errorf("300: %+v, %v", res, err)
	}
}

// TestSuccessMentioningError: a 2xx answer is Graph's error only when it has
// a top-level "error" object, not when a value says "error".
func TestSuccessMentioningError(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"id":"1_2","message":"error","can_reply_privately":true}`))
	})
	cm, err := f.client().Comment(context.Background(), testToken, "1_2")
	if err != nil || cm.Message != "error" {
		t.Errorf("Comment: %+v, %v", cm, err)
	}
}

// TestNoTokenInDecodeError: a 2xx answer that fails to decode because a
// value holds the token (the time decoder quotes what it cannot parse): the
// error must not quote the token.
func TestNoTokenInDecodeError(t *testing.T) {
	f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"id":"1_2","created_time":"`+testToken+`"}`))
	})
	_, err := f.client().Comment(context.Background(), testToken, "1_2")
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), testToken) {
		t.Errorf("token in %q", err.Error())
	}
}

// TestNoSecretsInErrorFields: Graph's error fields, not only the error
// string, are free of the token, the app secret and the proof.
func TestNoSecretsInErrorFields(t *testing.T) {
	proof := AppSecretProof(testSecret, testToken)
	f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, []byte(`{"error":{"message":"m `+testSecret+`","error_user_msg":"u `+testSecret+` `+testToken+`","error_user_title":"t `+testSecret+` `+proof+`","type":"`+testSecret+`","code":100,"fbtrace_id":"`+proof+`"}}`))
	})
	_, err := f.client().Comment(context.Background(), testToken, "1_2")
	var ge *Error
	if !errors.As(err, &ge) {
		t.Fatalf("err %v", err)
	}
	for name, v := range map[string]string{"Message": ge.Message, "UserMessage": ge.UserMessage, "UserTitle": ge.UserTitle, "Type": ge.Type, "FBTraceID": ge.FBTraceID, "Error()": err.Error()} {
		for _, s := range []string{testToken, testSecret, proof} {
			if strings.Contains(v, s) {
				t.Errorf("%s %q holds a secret", name, v)
			}
		}
	}
}

// TestNoURLInTransportErrorsOfAGivenClient: a given client with a timeout of
// its own goes through http.Client, whose errors quote the URL (with
// appsecret_proof in a GET's query): the error must not.
func TestNoURLInTransportErrorsOfAGivenClient(t *testing.T) {
	f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	c := f.client(func(cfg *Config) { cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second} })
	_, err1 := c.Comment(context.Background(), testToken, "1_2")
	_, err2 := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
	for _, err := range []error{err1, err2} {
		if err == nil {
			t.Fatal("no error")
		}
		msg := err.Error()
		if strings.Contains(msg, f.URL) || strings.Contains(msg, "appsecret_proof") || strings.Contains(msg, AppSecretProof(testSecret, testToken)) {
			t.Errorf("URL in %q", msg)
		}
	}
}

// TestBaseURLQueryAndUserDropped: a query or user info in the configured base
// URL goes nowhere: calls still reach /{version}/..., with no Basic auth.
func TestBaseURLQueryAndUserDropped(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v25.0/"+testPage+"/messages" || r.URL.RawQuery != "" {
			t.Errorf("request %s", r.URL)
		}
		if _, _, ok := r.BasicAuth(); ok {
			t.Errorf("basic auth sent")
		}
		writeJSON(w, 200, []byte(`{"recipient_id":"1","message_id":"m_1"}`))
	})
	base := strings.Replace(f.URL, "http://", "http://user:pw@", 1) + "?x=1"
	c := New(Config{BaseURL: base})
	if _, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi"); err != nil {
		t.Fatal(err)
	}
}

// TestIDIsOnePathSegment: an id is escaped into one path segment: it cannot
// reach another edge or add to the query.
func TestIDIsOnePathSegment(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.EscapedPath(); got != "/v25.0/1_2%2Fcomments%3Ffields=x" {
			t.Errorf("path %s", got)
		}
		if got := r.URL.Query()["fields"]; len(got) != 1 || got[0] != "private_reply_conversation" {
			t.Errorf("fields %q", got)
		}
		writeJSON(w, 200, []byte(`{"id":"1_2"}`))
	})
	if _, err := f.client().PrivateReplyConversation(context.Background(), testToken, "1_2/comments?fields=x"); err != nil {
		t.Fatal(err)
	}
}

// TestWithPageIDOverrides: WithPageID overrides the Page a send names.
func TestWithPageIDOverrides(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"recipient_id":"1","message_id":"m_1"}`))
	})
	ctx := WithPageID(context.Background(), "other")
	if _, err := f.client().SendPrivateReply(ctx, testToken, testPage, Recipient{CommentID: "1_2"}, "hi"); err != nil {
		t.Fatal(err)
	}
	if calls := f.callInfos(); len(calls) != 1 || calls[0].PageID != "other" {
		t.Errorf("call infos %+v", calls)
	}
}

// TestNoTokenNoCall: without an access token nothing is sent, and the Page is
// broken.
func TestNoTokenNoCall(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"recipient_id":"1","message_id":"m_1"}`))
	})
	c := f.client()
	_, err1 := c.SendPrivateReply(context.Background(), "", testPage, Recipient{CommentID: "1_2"}, "hi")
	_, err2 := c.PrivateReplyConversation(context.Background(), "", "1_2")
	for _, err := range []error{err1, err2} {
		var ge *Error
		if !errors.As(err, &ge) || ge.Class != ClassPageBroken || ge.Unknown {
			t.Errorf("err %v", err)
		}
	}
	if reqs := f.requests(); len(reqs) != 0 {
		t.Errorf("requests without a token: %v", reqs)
	}
}

// TestUsageOfRepeatedHeaders: an answer that repeats a usage header is read
// whole, even when its first value is the one the last answer had.
func TestUsageOfRepeatedHeaders(t *testing.T) {
	const low = `{"call_count":10,"total_cputime":1,"total_time":1}`
	const high = `{"call_count":97,"total_cputime":1,"total_time":1}`
	answers := []http.Header{
		{"X-Page-Usage": {low}},
		{"X-Page-Usage": {low, high}},
		{"X-Business-Use-Case-Usage": {`{"1":[{"type":"pages","call_count":10,"total_cputime":1,"total_time":1}]}`}},
		{"X-Business-Use-Case-Usage": {`{"1":[{"type":"pages","call_count":10,"total_cputime":1,"total_time":1}]}`, `{"2":[{"type":"pages","call_count":98,"total_cputime":1,"total_time":1}]}`}},
	}
	got := usageOfAnswers(t, answers, func(u Usage) int { return u.MaxPercent })
	if want := []int{10, 97, 10, 98}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("usage per answer = %v, want %v", got, want)
	}
}

// usageOfAnswers sends one reply through a client per answer, each answered
// with its headers, and returns what pick takes of each call's usage.
func usageOfAnswers(t *testing.T, answers []http.Header, pick func(Usage) int) []int {
	t.Helper()
	var (
		mu   sync.Mutex
		next int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := answers[next]
		next++
		mu.Unlock()
		for k, vs := range h {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.Write([]byte(`{"recipient_id":"1","message_id":"m_1"}`))
	}))
	defer srv.Close()
	var got []int
	c := New(Config{BaseURL: srv.URL, Observer: func(ci CallInfo) { got = append(got, pick(ci.Usage)) }})
	for range answers {
		if _, err := c.SendPrivateReply(context.Background(), testToken, "1", Recipient{CommentID: "1_2"}, "hi"); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// TestTimeoutWhileReadingBody: the deadline passes while the body is being
// read: the error says timeout, and a send's outcome is unknown.
func TestTimeoutWhileReadingBody(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		w.Write([]byte(`{"recipient_id":"1",`))
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	c := f.client(func(cfg *Config) { cfg.Timeout = 100 * time.Millisecond })
	_, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
	var ge *Error
	if !errors.As(err, &ge) || !ge.Unknown || ge.Class != ClassTransient || ge.Message != "read response: timeout" {
		t.Errorf("err %v (%+v)", err, ge)
	}
}

// TestNoTokenHeadInClippedDecodeError: the time decoder quotes what it cannot
// parse clipped to 1,000 bytes; with the token straddling the clip it was no
// longer whole where the redaction looked, and its head stayed in the error.
func TestNoTokenHeadInClippedDecodeError(t *testing.T) {
	for at := 1000 - len(testToken) - 1; at < 1000; at++ {
		f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, []byte(`{"id":"1_2","created_time":"`+strings.Repeat("x", at)+testToken+`"}`))
		})
		_, err := f.client().Comment(context.Background(), testToken, "1_2")
		if ClassOf(err) != ClassTransient {
			t.Fatalf("at %d: err %v", at, err)
		}
		for n := 8; n <= len(testToken); n++ {
			if strings.Contains(err.Error(), testToken[:n]) {
				t.Fatalf("token at %d: its first %d characters are in the error", at, n)
			}
		}
	}
}

// TestOversizedSendAnswer: a send whose answer is too long to read may have
// been made, whatever the status: the body, not read, is what would tell (a
// 4xx whose body is read and is not Graph's is of unknown outcome too).
func TestOversizedSendAnswer(t *testing.T) {
	for _, tc := range []struct {
		status      int
		wantUnknown bool
	}{
		{status: 200, wantUnknown: true},
		{status: 502, wantUnknown: true},
		{status: 400, wantUnknown: true},
	} {
		f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			chunk := []byte(strings.Repeat("x", 64<<10))
			for n := 0; n <= maxBody; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		})
		_, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
		var ge *Error
		if !errors.As(err, &ge) || ge.Unknown != tc.wantUnknown || ge.Class != ClassTransient || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("%d: err %v (%+v), want Unknown %v", tc.status, err, ge, tc.wantUnknown)
		}
	}
}

// TestMalformedSendAnswerOfAny2xx: a send answered by any 2xx that cannot be
// read may have been made.
func TestMalformedSendAnswerOfAny2xx(t *testing.T) {
	for _, status := range []int{201, 202} {
		f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, status, []byte(`<html>ok</html>`))
		})
		_, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
		var ge *Error
		if !errors.As(err, &ge) || !ge.Unknown || ge.Class != ClassTransient || ge.HTTPStatus != status {
			t.Errorf("%d: err %v (%+v)", status, err, ge)
		}
	}
}

// TestGivenClientsTimeoutSaysTimeout: a given client's own timeouts, shorter
// than the Client's (its Timeout, its transport's ResponseHeaderTimeout, a
// net.Error that is no context error), are reported as timeouts.
func TestGivenClientsTimeoutSaysTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	for name, hc := range map[string]*http.Client{
		"client timeout":          {Timeout: 100 * time.Millisecond},
		"response header timeout": {Transport: &http.Transport{ResponseHeaderTimeout: 100 * time.Millisecond}},
	} {
		c := f.client(func(cfg *Config) {
			cfg.Timeout = time.Minute
			cfg.HTTPClient = hc
		})
		_, err := c.Comment(context.Background(), testToken, "1_2")
		var ge *Error
		if !errors.As(err, &ge) || ge.Class != ClassTransient || ge.Message != "timeout" {
			t.Errorf("%s: err %v", name, err)
		}
	}
}

// TestBaseURLWithoutHost: a base URL without a host fails every call as a
// permanent configuration error, not as a connection failure to retry.
func TestBaseURLWithoutHost(t *testing.T) {
	for _, base := range []string{"http:graph.facebook.com", "https:///v1"} {
		_, err := New(Config{BaseURL: base}).SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
		var ge *Error
		if !errors.As(err, &ge) || ge.Class != ClassPermanent || ge.Unknown || !strings.Contains(err.Error(), "base URL") {
			t.Errorf("%q: err %v", base, err)
		}
	}
}
