package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a sandbox served over loopback HTTP.
type env struct {
	t   *testing.T
	sb  *Sandbox
	srv *httptest.Server
	clk *clock
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	clk := newClock()
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	sb := New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &env{t: t, sb: sb, srv: srv, clk: clk}
}

func (e *env) page(i int) Page {
	e.t.Helper()
	ps := e.sb.Pages()
	if i >= len(ps) {
		e.t.Fatalf("no page %d", i)
	}
	return ps[i]
}

// answer is a decoded Graph answer.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// code returns the Graph error code and subcode, 0 on success.
func (a answer) code() (int, int) {
	e, ok := a.body["error"].(map[string]any)
	if !ok {
		return 0, 0
	}
	code, _ := e["code"].(float64)
	sub, _ := e["error_subcode"].(float64)
	return int(code), int(sub)
}

func (a answer) data() []map[string]any { return listOf(a.body) }

func listOf(m map[string]any) []map[string]any {
	var out []map[string]any
	d, _ := m["data"].([]any)
	for _, x := range d {
		out = append(out, x.(map[string]any))
	}
	return out
}

// linkWithoutToken checks that a next or previous link carries the
// request's token, as Graph's do, and takes it out, as pagereply's client
// does before following one (the token goes in the header).
func linkWithoutToken(t *testing.T, link, token string) string {
	t.Helper()
	if link == "" {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	q := u.Query()
	if got := q.Get("access_token"); got != token {
		t.Fatalf("link carries access_token %q, want the request's token", got)
	}
	q.Del("access_token")
	u.RawQuery = q.Encode()
	return u.String()
}

func nextOf(m map[string]any) string {
	p, _ := m["paging"].(map[string]any)
	n, _ := p["next"].(string)
	return n
}

// do sends a request with the token in an Authorization header (when not
// empty); rawURL is a path on the server or an absolute URL.
func (e *env) do(method, rawURL, token string, form url.Values) answer {
	e.t.Helper()
	if strings.HasPrefix(rawURL, "/") {
		rawURL = e.srv.URL + rawURL
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.roundTrip(req)
}

func (e *env) roundTrip(req *http.Request) answer {
	e.t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if err := json.Unmarshal(b, &a.body); err != nil {
		e.t.Fatalf("%s %s: answer is not JSON: %v: %s", req.Method, req.URL, err, b)
	}
	return a
}

func (e *env) get(path, token string) answer {
	e.t.Helper()
	return e.do(http.MethodGet, path, token, nil)
}

// sendForm returns the form of a send to a recipient such as {"comment_id":id}.
func sendForm(recipient map[string]string, text string) url.Values {
	r, _ := json.Marshal(recipient)
	m, _ := json.Marshal(map[string]string{"text": text})
	return url.Values{"recipient": {string(r)}, "message": {string(m)}}
}

func (e *env) send(p Page, recipient map[string]string, text string) answer {
	e.t.Helper()
	return e.do(http.MethodPost, "/v25.0/"+p.ID+"/messages", p.Token, sendForm(recipient, text))
}

func proof(secret, token string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// walk follows next links from path and returns every item, failing on a loop.
func (e *env) walk(path, token string) []map[string]any {
	e.t.Helper()
	var all []map[string]any
	for n := 0; path != ""; n++ {
		if n > 10000 {
			e.t.Fatal("paging does not end")
		}
		a := e.get(path, token)
		if a.status != http.StatusOK {
			e.t.Fatalf("GET %s: %d %s", path, a.status, a.raw)
		}
		all = append(all, a.data()...)
		path = linkWithoutToken(e.t, nextOf(a.body), token)
	}
	return all
}

func ids(items []map[string]any) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i], _ = it["id"].(string)
	}
	return out
}

// eligible reports whether a comment may get a private reply now.
func eligible(c Comment, now time.Time) bool {
	return !c.FromPage && c.CanReplyPrivately && now.Sub(c.CreatedTime) <= ReplyWindow
}
