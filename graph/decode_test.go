package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name            string
		code, sub, http int
		transient       bool
		want            Class
	}{
		{name: "already replied", code: 10900, http: 400, want: ClassAlreadyReplied},
		{name: "already replied flagged transient", code: 10900, http: 500, transient: true, want: ClassAlreadyReplied},
		{name: "app limit", code: 4, http: 403, transient: true, want: ClassThrottled},
		{name: "user limit", code: 17, http: 400, want: ClassThrottled},
		{name: "page limit", code: 32, http: 400, want: ClassThrottled},
		{name: "rate limit", code: 613, http: 400, want: ClassThrottled},
		{name: "80001", code: 80001, http: 400, want: ClassThrottled},
		{name: "80014", code: 80014, http: 400, want: ClassThrottled},
		{name: "80015 is not throttling", code: 80015, http: 400, want: ClassPermanent},
		{name: "token", code: 190, sub: 463, http: 400, want: ClassPageBroken},
		{name: "session", code: 102, http: 400, want: ClassPageBroken},
		{name: "permission", code: 10, http: 403, want: ClassPageBroken},
		{name: "outside window", code: 10, sub: 2018278, http: 400, want: ClassPermanent},
		{name: "outside window 2018065", code: 10, sub: 2018065, http: 400, want: ClassPermanent},
		{name: "outside window 2534022", code: 10, sub: 2534022, http: 400, want: ClassPermanent},
		{name: "person not receiving", code: 10, sub: 2018108, http: 400, want: ClassPermanent},
		{name: "other permission subcode", code: 10, sub: 2018336, http: 403, want: ClassPageBroken},
		{name: "person unavailable under 200", code: 200, sub: 1545041, http: 400, want: ClassPermanent},
		{name: "app not live: the person has no role on the app", code: 200, sub: 2018028, http: 403, want: ClassPermanent},
		{name: "1545041 is not special under 10", code: 10, sub: 1545041, http: 403, want: ClassPageBroken},
		{name: "200", code: 200, http: 403, want: ClassPageBroken},
		{name: "299", code: 299, http: 403, want: ClassPageBroken},
		{name: "user not visible", code: 210, http: 400, want: ClassPermanent},
		{name: "user not visible with a subcode", code: 210, sub: 2018001, http: 400, want: ClassPermanent},
		{name: "messaging permission missing", code: 230, http: 403, want: ClassPageBroken},
		{name: "policy", code: 368, http: 400, want: ClassPageBroken},
		{name: "Messenger block", code: 2022, http: 400, want: ClassPageBroken},
		{name: "thread controlled by another app", code: 10, sub: 2018300, http: 400, want: ClassTransient},
		{name: "unknown error", code: 1, http: 500, want: ClassTransient},
		// Codes 1 and 2 are transient by their code, whatever the status.
		{name: "unknown error on a 400", code: 1, http: 400, want: ClassTransient},
		{name: "service", code: 2, http: 503, want: ClassTransient},
		{name: "temporary send failure", code: 1200, http: 400, want: ClassTransient},
		{name: "transient flag", code: 100, http: 400, transient: true, want: ClassTransient},
		{name: "bare 5xx", http: 502, want: ClassTransient},
		{name: "bare 500", http: 500, want: ClassTransient},
		// A 500 whose code is none of the lists is Graph failing, not the
		// reply refused: retried, never archived.
		{name: "500 with an unlisted code", code: 100, sub: 2, http: 500, want: ClassTransient},
		{name: "bare 429", http: 429, want: ClassThrottled},
		{name: "not replyable", code: 10902, http: 400, want: ClassPermanent},
		{name: "too old", code: 10903, http: 400, want: ClassPermanent},
		{name: "10904, the Page's messages turned off", code: 10904, http: 400, want: ClassPageBroken},
		{name: "bad id", code: 100, sub: 33, http: 400, want: ClassPermanent},
		{name: "unavailable", code: 551, http: 400, want: ClassPermanent},
		{name: "other 4xx", http: 404, want: ClassPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.code, tc.sub, tc.http, tc.transient); got != tc.want {
				t.Errorf("Classify(%d, %d, %d, %v) = %v, want %v", tc.code, tc.sub, tc.http, tc.transient, got, tc.want)
			}
		})
	}
}

func TestClassOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Class
	}{
		{name: "nil", err: nil, want: ClassNone},
		{name: "graph error", err: &Error{Class: ClassAlreadyReplied}, want: ClassAlreadyReplied},
		{name: "wrapped graph error", err: fmt.Errorf("reply: %w", &Error{Class: ClassPageBroken}), want: ClassPageBroken},
		{name: "sentinel", err: fmt.Errorf("x: %w", ErrThrottled), want: ClassThrottled},
		{name: "deadline", err: fmt.Errorf("x: %w", context.DeadlineExceeded), want: ClassTransient},
		{name: "canceled", err: context.Canceled, want: ClassTransient},
		{name: "net error", err: &net.OpError{Op: "dial", Err: errors.New("refused")}, want: ClassTransient},
		{name: "other", err: errors.New("boom"), want: ClassPermanent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClassOf(tc.err); got != tc.want {
				t.Errorf("ClassOf = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestErrorPredicates: AppThrottled says the whole app is at its limit (code
// 4 or 341, or X-App-Usage at 95 % or more, whatever the code: every Page is
// paused), not one Page's limit; ObjectGone is code 100 with subcode 33 alone
// (an object Graph no longer has, whose webhook item is dropped), never
// another code 100, which may be retried or must be archived.
func TestErrorPredicates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		app, gone bool
	}{
		{name: "4 application request limit", err: &Error{Code: 4, Class: ClassThrottled}, app: true},
		{name: "341 application limit", err: fmt.Errorf("x: %w", &Error{Code: 341, Class: ClassThrottled}), app: true},
		{name: "613 with X-App-Usage at 95", err: &Error{Code: 613, Class: ClassThrottled, Usage: Usage{MaxPercent: 95, AppPercent: 95}}, app: true},
		{name: "32 with the Page's usage at the limit", err: &Error{Code: 32, Class: ClassThrottled, Usage: Usage{MaxPercent: 100, AppPercent: 94}}},
		{name: "object gone", err: fmt.Errorf("x: %w", &Error{Code: 100, Subcode: 33, Class: ClassPermanent}), gone: true},
		{name: "100 without subcode 33", err: &Error{Code: 100, Class: ClassTransient, IsTransient: true}},
		{name: "33 under another code", err: &Error{Code: 10, Subcode: 33, Class: ClassPageBroken}},
		{name: "not a graph error", err: errors.New("boom")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := AppThrottled(tc.err); got != tc.app {
				t.Errorf("AppThrottled = %v, want %v", got, tc.app)
			}
			if got := ObjectGone(tc.err); got != tc.gone {
				t.Errorf("ObjectGone = %v, want %v", got, tc.gone)
			}
		})
	}
}

func TestParseUsage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		header map[string]string
		want   Usage
	}{
		{name: "none", want: Usage{}},
		{name: "app usage", header: map[string]string{"X-App-Usage": `{"call_count":28,"total_time":25,"total_cputime":7}`}, want: Usage{MaxPercent: 28, AppPercent: 28}},
		// A time to regain access counts in whichever header it comes.
		{name: "app usage with regain", header: map[string]string{"X-App-Usage": `{"call_count":12,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":9}`},
			want: Usage{MaxPercent: 12, RegainAccess: 9 * time.Minute, AppPercent: 12}},
		{name: "page usage with regain", header: map[string]string{"X-Page-Usage": `{"call_count":100,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":5}`},
			want: Usage{MaxPercent: 100, RegainAccess: 5 * time.Minute}},
		{name: "business use case, highest wins", header: map[string]string{
			"X-App-Usage": `{"call_count":10,"total_time":20,"total_cputime":5}`,
			"X-Business-Use-Case-Usage": `{"1983306698425200":[{"type":"pages","call_count":45,"total_cputime":96,"total_time":12,"estimated_time_to_regain_access":0}],` +
				`"1111":[{"type":"messenger","call_count":3,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":30}]}`,
		}, want: Usage{MaxPercent: 96, RegainAccess: 30 * time.Minute, AppPercent: 20}},
		// Meta's sample of the header (developers.facebook.com/docs/graph-api/overview/rate-limiting)
		// names one object twice, once per type: both lists count.
		{name: "business use case, an id repeated", header: map[string]string{
			"X-Business-Use-Case-Usage": `{"1983306698425200":[{"type":"messenger","call_count":100,"total_cputime":25,"total_time":25,"estimated_time_to_regain_access":19}],` +
				`"66782684":[{"type":"ads_management","call_count":95,"total_cputime":20,"total_time":20,"estimated_time_to_regain_access":0,"ads_api_access_tier":"development_access"}],` +
				`"1983306698425200":[{"type":"pages","call_count":12,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":0}]}`,
		}, want: Usage{MaxPercent: 100, RegainAccess: 19 * time.Minute}},
		{name: "business use case, an escaped id repeated", header: map[string]string{
			"X-Business-Use-Case-Usage": `{"\u0031":[{"type":"pages","call_count":99,"estimated_time_to_regain_access":7}],"1":[{"type":"pages","call_count":1}]}`,
		}, want: Usage{MaxPercent: 99, RegainAccess: 7 * time.Minute}},
		{name: "strings and fractions", header: map[string]string{"X-App-Usage": `{"call_count":"12","total_time":40.2,"total_cputime":null}`}, want: Usage{MaxPercent: 41, AppPercent: 41}},
		{name: "malformed ignored", header: map[string]string{"X-App-Usage": `{"call_count":`, "X-Page-Usage": `[1,2]`, "X-Business-Use-Case-Usage": `{"1":{"call_count":99}}`}, want: Usage{}},
		// A malformed header is ignored whole, not read up to its fault.
		{name: "business use case malformed after a valid list", header: map[string]string{
			"X-Business-Use-Case-Usage": `{"1":[{"type":"pages","call_count":99,"estimated_time_to_regain_access":7}],"2":[{"call_count":1},2]}`,
		}, want: Usage{}},
		{name: "absurd values clamped", header: map[string]string{"X-Page-Usage": `{"call_count":1e300,"estimated_time_to_regain_access":1e300}`}, want: Usage{MaxPercent: 1000, RegainAccess: 24 * time.Hour}},
		{name: "negative ignored", header: map[string]string{"X-Page-Usage": `{"call_count":-5,"estimated_time_to_regain_access":-1}`}, want: Usage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.header {
				h.Set(k, v)
			}
			if got := ParseUsage(h); got != tc.want {
				t.Errorf("ParseUsage = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestUsageLimits: usage says to stop calling at 95 % of any figure, or with
// any time to regain access whatever the figures (SPEC: "near 100 or with
// estimated_time_to_regain_access"); the whole app stops at 95 % of
// X-App-Usage, not for another header's figure.
func TestUsageLimits(t *testing.T) {
	for _, tc := range []struct {
		name           string
		u              Usage
		throttled, app bool
	}{
		{name: "none", u: Usage{}},
		{name: "94", u: Usage{MaxPercent: 94, AppPercent: 94}},
		{name: "95 of the Page's", u: Usage{MaxPercent: 95, AppPercent: 20}, throttled: true},
		{name: "a time to regain access at low usage", u: Usage{MaxPercent: 12, RegainAccess: time.Minute}, throttled: true},
		{name: "95 of the app's", u: Usage{MaxPercent: 95, AppPercent: 95}, throttled: true, app: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.u.Throttled(); got != tc.throttled {
				t.Errorf("%+v Throttled = %v, want %v", tc.u, got, tc.throttled)
			}
			if got := tc.u.AppThrottled(); got != tc.app {
				t.Errorf("%+v AppThrottled = %v, want %v", tc.u, got, tc.app)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, value string
		want        time.Duration
	}{
		{name: "absent", want: 0},
		{name: "seconds", value: "90", want: 90 * time.Second},
		{name: "date", value: now.Add(time.Hour).Format(http.TimeFormat), want: time.Hour},
		{name: "past date", value: now.Add(-time.Hour).Format(http.TimeFormat), want: 0},
		{name: "huge", value: "99999999999999", want: 24 * time.Hour},
		{name: "garbage", value: "soon", want: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.value != "" {
				h.Set("Retry-After", tc.value)
			}
			if got := retryAfter(h, now); got != tc.want {
				t.Errorf("retryAfter(%q) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}

func TestTimeJSON(t *testing.T) {
	want := time.Date(2025, 11, 24, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
	}{
		{name: "graph layout", in: `"2025-11-24T09:30:00+0000"`, want: want},
		{name: "graph layout with offset", in: `"2025-11-24T10:30:00+0100"`, want: want},
		{name: "rfc3339", in: `"2025-11-24T09:30:00Z"`, want: want},
		{name: "rfc3339 nano", in: `"2025-11-24T11:30:00.000+02:00"`, want: want},
		{name: "unix seconds", in: `1763976600`, want: want},
		{name: "null", in: `null`},
		{name: "empty", in: `""`},
		{name: "garbage string", in: `"yesterday"`, wantErr: true},
		{name: "bool", in: `true`, wantErr: true},
		{name: "huge number", in: `1e300`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got Time
			err := json.Unmarshal([]byte(tc.in), &got)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	b, err := json.Marshal(Post{ID: "1", CreatedTime: Time{want}})
	if err != nil || !strings.Contains(string(b), `"created_time":"2025-11-24T09:30:00+0000"`) {
		t.Errorf("marshal: %s, %v", b, err)
	}
}

// seedDir adds every file under testdata/dir to the fuzz corpus.
func seedDir(f *testing.F, dir string, add func(b []byte)) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// TestPerPersonMessages: an answer about one person under code 10 or 200
// that comes without its subcode is told by its message: permanent, so one
// unreachable person does not pause the Page. Other answers under those codes,
// and the same words under other codes, keep their class; so do the words of
// the thread control refusal (code 10 only) and of a refused appsecret_proof
// (code 100 only) under other codes.
func TestPerPersonMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want Class
	}{
		{"10 outside the window, no subcode", `{"error":{"message":"(#10) This message is sent outside of allowed window.","type":"OAuthException","code":10}}`, ClassPermanent},
		{"200 person not available, no subcode", `{"error":{"message":"(#200) Message Not Sent: This person isn't available right now.","type":"OAuthException","code":200}}`, ClassPermanent},
		{"10 person not receiving, no subcode", `{"error":{"message":"(#10) This person isn't receiving messages from you right now.","type":"OAuthException","code":10}}`, ClassPermanent},
		{"230 about the person", `{"error":{"message":"(#230) Permissions disallow message to user","type":"OAuthException","code":230}}`, ClassPermanent},
		{"10 thread controlled by another app, no subcode", `{"error":{"message":"(#10) Message failed to send because another app is controlling this thread now.","type":"OAuthException","code":10}}`, ClassTransient},
		{"230 about the Page's permission", `{"error":{"message":"(#230) Requires pages_messaging permission to manage the object","type":"OAuthException","code":230}}`, ClassPageBroken},
		{"10 permission", `{"error":{"message":"(#10) Application does not have permission for this action","type":"OAuthException","code":10}}`, ClassPageBroken},
		{"200 permission", `{"error":{"message":"(#200) Requires pages_messaging permission to manage the object","type":"OAuthException","code":200}}`, ClassPageBroken},
		{"190 keeps its class", `{"error":{"message":"Error validating access token: this person isn't available right now","type":"OAuthException","code":190}}`, ClassPageBroken},
		{"190 with the thread control words keeps its class", `{"error":{"message":"Error validating access token: another app is controlling this thread","type":"OAuthException","code":190}}`, ClassPageBroken},
		{"1 naming appsecret_proof keeps its class", `{"error":{"message":"An unknown error occurred checking the appsecret_proof","type":"OAuthException","code":1}}`, ClassTransient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if e := decodeError(400, "application/json", []byte(tc.body)); e.Class != tc.want {
				t.Errorf("class %v, want %v (%s)", e.Class, tc.want, e.Message)
			}
		})
	}
}

func FuzzDecodeError(f *testing.F) {
	seedDir(f, "errors", func(b []byte) { f.Add(400, b) })
	f.Add(500, []byte("<html>"))
	f.Add(200, []byte(`{"error":{"code":"4","is_transient":"true","error_subcode":1e99}}`))
	f.Add(400, []byte(`{"error":null}`))
	// 100/33 naming the Page a call is made on (page broken), another
	// object (permanent), and the call's token echoed back.
	const page, token = "1234567890", "EAAfuzzTokenZ9"
	f.Add(400, []byte(`{"error":{"message":"Unsupported post request. Object with ID '1234567890' does not exist, cannot be loaded due to missing permissions, or does not support this operation.","type":"GraphMethodException","code":100,"error_subcode":33}}`))
	f.Add(400, []byte(`{"error":{"message":"Unsupported get request. Object with ID '1234567890_55' does not exist","type":"GraphMethodException","code":100,"error_subcode":33}}`))
	f.Add(400, []byte(`{"error":{"message":"Malformed access token EAAfuzzTokenZ9","type":"OAuthException","code":190}}`))
	c := New(Config{AppSecret: "fuzz-app-secret"})
	secrets := []string{token, "fuzz-app-secret", c.proof(token)}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		// The Client's path: secrets redacted, the Page's 100/33 page broken
		// where it would be permanent; transient (HTTP 5xx, is_transient)
		// or any other class it keeps.
		ce := c.callError(status, "application/json", body, request{token: token, page: page})
		if ce.Class == ClassNone || ce.Class > ClassPageBroken {
			t.Errorf("call error class %v", ce.Class)
		}
		if base := decodeError(status, "application/json", c.redactBody(body, token)).Class; pageUnreachable(ce, page) {
			if want := map[bool]Class{true: ClassPageBroken, false: base}[base == ClassPermanent]; ce.Class != want {
				t.Errorf("100/33 naming the Page classed %v, want %v: %+v", ce.Class, want, ce)
			}
		} else if ce.Class != base {
			t.Errorf("call error classed %v, decodeError %v: %+v", ce.Class, base, ce)
		}
		for _, s := range secrets {
			for _, v := range []string{ce.Error(), ce.Message, ce.UserTitle, ce.UserMessage, ce.Type, ce.FBTraceID} {
				if strings.Contains(v, s) {
					t.Fatalf("error shows a secret %q: %q", s, v)
				}
			}
		}
		e := decodeError(status, "application/json", body)
		if e == nil {
			t.Fatal("nil error")
		}
		if e.Class == ClassNone || e.Class > ClassPageBroken {
			t.Errorf("class %v", e.Class)
		}
		if e.Message == "" {
			t.Error("empty message")
		}
		if len(e.Message) > 1100 || len(e.UserMessage) > 1100 {
			t.Error("message not clipped")
		}
		_ = e.Error()
	})
}

func FuzzDecodePage(f *testing.F) {
	seedDir(f, "pages", func(b []byte) { f.Add(b) })
	f.Add([]byte(`{"data":[{"id":"1","created_time":1763976600,"from":null,"parent":{"id":2}}]}`))
	f.Add([]byte(`{"data":[{"participants":{"data":[{}]},"messages":{"data":null}}],"paging":{"next":"::"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		decodePage[Post](body, false)
		decodePage[Comment](body, true)
		if pg, err := decodePage[wireConversation](body, false); err == nil {
			for _, w := range pg.items {
				w.conversation()
			}
		}
		var c Comment
		decodeObject(body, &c)
		if r, err := decodeSendResult(body); err == nil && r.MessageID == "" {
			t.Error("send result without message id accepted")
		}
		var v struct {
			PRC json.RawMessage `json:"private_reply_conversation"`
		}
		if json.Unmarshal(body, &v) == nil {
			decodeConversationRef(v.PRC)
		}
	})
}

func FuzzNextURL(f *testing.F) {
	f.Add("https://graph.facebook.com/v25.0/1/feed?access_token=T&after=x", "x")
	f.Add("::", "")
	f.Add("//evil.example/p?appsecret_proof=1", "c")
	f.Add("0access_token0", "0")
	f.Add("/v25.0/1/feed?access%5Ftoken=T&ACCESS_TOKEN=U", "")
	c := New(Config{BaseURL: "http://127.0.0.1:8089"})
	f.Fuzz(func(t *testing.T, next, after string) {
		u, ok := c.nextURL(next, "http://127.0.0.1:8089/v25.0/1/feed?limit=100", after)
		if !ok {
			return
		}
		if !strings.HasPrefix(u, "http://127.0.0.1:8089/") {
			t.Errorf("next %q leads to %q", next, u)
		}
		// The token may only ride in the query (a path segment that spells
		// "access_token" is just a path): none may survive there.
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatalf("next %q gives an unparsable URL %q: %v", next, u, err)
		}
		for k := range pu.Query() {
			if strings.EqualFold(k, "access_token") || strings.EqualFold(k, "appsecret_proof") {
				t.Errorf("next %q keeps a token: %q", next, u)
			}
		}
	})
}

func FuzzParseUsage(f *testing.F) {
	f.Add(`{"call_count":28,"total_time":25,"total_cputime":7}`, `{"1":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":15}]}`)
	f.Add(`{"call_count":"1e400"}`, `{"1":[null]}`)
	f.Add(`{"CALL_COUNT":5,"call_count":" 7 ","x":{"a":1}}`, `{"1":[{"type":"pages","total_time":"9\u0030"}],"1":[{"call_count":3}]}`)
	f.Add(` { "total_cputime" : 99.5 , "estimated_time_to_regain_access" : 2 } `, `{"a":[],"b":[{}],"c":[{"call_count":-1e2}]}`)
	// Flat, so scanned: keys in another case, and a repeated key (the last
	// one counts), read as encoding/json reads them.
	f.Add(`{"Total_CPUTime":97,"call_count":5,"CALL_COUNT":3}`, `{"1":[{"call_count":99,"Call_Count":2,"ESTIMATED_TIME_TO_REGAIN_ACCESS":4}]}`)
	f.Fuzz(func(t *testing.T, app, buc string) {
		h := http.Header{}
		h.Set("X-App-Usage", app)
		h.Set("X-Page-Usage", app)
		h.Set("X-Business-Use-Case-Usage", buc)
		h.Set("Retry-After", app)
		u := ParseUsage(h)
		if ref := parseUsageJSON(h); u != ref {
			t.Errorf("scanner %+v, encoding/json %+v", u, ref)
		}
		if u.MaxPercent < 0 || u.MaxPercent > 1000 || u.RegainAccess < 0 || u.RegainAccess > 24*time.Hour {
			t.Errorf("usage out of range: %+v", u)
		}
		if d := retryAfter(h, time.Now()); d < 0 || d > 24*time.Hour {
			t.Errorf("retry after %v", d)
		}
	})
}

func FuzzTime(f *testing.F) {
	for _, s := range []string{`"2025-11-24T09:30:00+0000"`, `"2025-11-24T09:30:00Z"`, `1763976600`, `null`, `""`, `-62135596800`, `"9999-12-31T23:59:59-2359"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v Time
		if err := v.UnmarshalJSON(b); err != nil {
			return
		}
		out, err := v.MarshalJSON()
		if err != nil {
			t.Fatalf("%s decoded to %v but does not encode: %v", b, v.Time, err)
		}
		var back Time
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("%s re-decoding %s: %v", b, out, err)
		}
		if !back.Equal(v.Truncate(time.Second)) {
			t.Errorf("%s: round trip %v -> %s -> %v", b, v.Time, out, back.Time)
		}
	})
}
