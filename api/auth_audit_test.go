package api_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

const secondToken = "second-api-token-abcdefghij"

// noRedirect is a client that hands back redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// send sends req without following redirects and closes the answer's body.
func send(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// signIn posts the login form with tok and returns the session cookie.
func signIn(t *testing.T, base, tok string) *http.Cookie {
	t.Helper()
	resp, err := noRedirect.PostForm(base+"/login", url.Values{"token": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("login: %d %v", resp.StatusCode, resp.Cookies())
	}
	return resp.Cookies()[0]
}

// monitorWith asks GET /monitor/ with set applied and returns the status.
func monitorWith(t *testing.T, base string, set func(*http.Request)) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/monitor/", nil)
	set(req)
	return send(t, req).StatusCode
}

// TestEveryConfiguredTokenOpens: with two API tokens, each of them opens
// /v1 (bearer), the monitor (bearer, basic auth, the /login cookie), not
// only the last one compared. Kills: valid's and sessionExpiry's
// "ok |= compare" turned into "ok = compare".
func TestEveryConfiguredTokenOpens(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Tokens = []string{testToken, secondToken} })
	for _, tok := range []string{testToken, secondToken} {
		if status, m := e.do(t, "GET", "/v1/replies/comment:404_404", tok, ""); status != 404 {
			t.Errorf("/v1 with token %.6s...: %d %v, want 404 (let in)", tok, status, m)
		}
		if code := monitorWith(t, e.url, func(r *http.Request) { r.SetBasicAuth("ops", tok) }); code != 200 {
			t.Errorf("monitor, basic auth with token %.6s...: %d", tok, code)
		}
		if code := monitorWith(t, e.url, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }); code != 200 {
			t.Errorf("monitor, bearer token %.6s...: %d", tok, code)
		}
		ck := signIn(t, e.url, tok)
		if code := monitorWith(t, e.url, func(r *http.Request) { r.AddCookie(ck) }); code != 200 {
			t.Errorf("monitor, session of token %.6s...: %d", tok, code)
		}
	}
}

// TestBearerRefusalAnswer: /v1 without a token, or with a wrong one, answers
// 401 with the RFC 6750 challenge, in the API's error shape, and never
// echoes the token it was sent. Kills: dropping either WWW-Authenticate
// header, 403 for a wrong token, the wrong token in the message, dropping
// nosniff.
func TestBearerRefusalAnswer(t *testing.T) {
	e := newEnv(t, nil)
	const wrong = "wrong-token-that-must-not-come-back"
	for _, tc := range []struct{ token, challenge string }{
		{"", `Bearer realm="pagereply"`},
		{wrong, `Bearer realm="pagereply", error="invalid_token"`},
	} {
		resp, body := e.request(t, "POST", "/v1/replies", tc.token, `{}`)
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != tc.challenge {
			t.Errorf("token %q: %d WWW-Authenticate %q, want 401 %q", tc.token, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tc.challenge)
		}
		if errBody(t, body); strings.Contains(string(body), "wrong-token") {
			t.Errorf("the 401 echoes the token it was sent: %s", body)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("token %q: no X-Content-Type-Options: nosniff", tc.token)
		}
	}
}

// TestBearerSchemeForms: the scheme is case-insensitive and blanks around
// the token do not matter (RFC 7235); "Bearer" alone is no token. Kills:
// a case-sensitive scheme, dropping the TrimSpace.
func TestBearerSchemeForms(t *testing.T) {
	e := newEnv(t, nil)
	for _, h := range []string{"bearer " + testToken, "BEARER " + testToken, "Bearer   " + testToken + " "} {
		req, _ := http.NewRequest("GET", e.url+"/v1/replies/comment:404_404", nil)
		req.Header.Set("Authorization", h)
		if code := send(t, req).StatusCode; code != 404 {
			t.Errorf("Authorization %q: %d, want 404 (let in)", h, code)
		}
	}
	for _, h := range []string{"Bearer", "Bearer ", "Bearer  ", "Basic " + testToken, testToken} {
		req, _ := http.NewRequest("GET", e.url+"/v1/replies/comment:404_404", nil)
		req.Header.Set("Authorization", h)
		if code := send(t, req).StatusCode; code != 401 {
			t.Errorf("Authorization %q: %d, want 401", h, code)
		}
	}
}

// TestMonitorWrongCredentials: the monitor refuses a wrong bearer token and
// a wrong basic-auth password alike, with the basic-auth challenge and an
// answer no cache keeps. Kills: a monitor bearer check that takes any token,
// dropping Cache-Control: no-store or the challenge.
func TestMonitorWrongCredentials(t *testing.T) {
	e := newEnv(t, nil)
	for name, set := range map[string]func(*http.Request){
		"no credentials": func(*http.Request) {},
		"wrong bearer":   func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong-token-0123456789") },
		"wrong basic":    func(r *http.Request) { r.SetBasicAuth("ops", "wrong-token-0123456789") },
		"token as user":  func(r *http.Request) { r.SetBasicAuth(testToken, "") },
	} {
		req, _ := http.NewRequest("GET", e.url+"/monitor/api/queues", nil)
		set(req)
		resp := send(t, req)
		if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d WWW-Authenticate %q Cache-Control %q, want 401, a basic challenge, no-store", name,
				resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Cache-Control"))
		}
	}
}

// TestSessionCookieTampered: the session cookie's signature covers its
// expiry and its nonce: a cookie with either changed is refused (a longer
// life; a new session id that a logout of the original does not end), and
// so is one signed with something else. Kills: leaving exp or the nonce out
// of the HMAC.
func TestSessionCookieTampered(t *testing.T) {
	e := newEnv(t, nil)
	ck := signIn(t, e.url, testToken)
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 3 {
		t.Fatalf("cookie %q: want exp.nonce.mac", ck.Value)
	}
	exp, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string) string {
		if s[0] == '0' {
			return "1" + s[1:]
		}
		return "0" + s[1:]
	}
	for name, v := range map[string]string{
		"later expiry":  strconv.FormatInt(exp+30*86400, 10) + "." + parts[1] + "." + parts[2],
		"other nonce":   parts[0] + "." + flip(parts[1]) + "." + parts[2],
		"other mac":     parts[0] + "." + parts[1] + "." + flip(parts[2]),
		"no nonce":      parts[0] + ".." + parts[2],
		"mac only":      parts[2],
		"padded":        ck.Value + strings.Repeat("0", 200),
		"trailing part": ck.Value + ".x",
	} {
		c := &http.Cookie{Name: api.SessionCookie, Value: v}
		if code := monitorWith(t, e.url, func(r *http.Request) { r.AddCookie(c) }); code != 401 {
			t.Errorf("%s (%q): %d, want 401", name, v, code)
		}
	}
	if code := monitorWith(t, e.url, func(r *http.Request) { r.AddCookie(ck) }); code != 200 {
		t.Fatalf("the untouched cookie: %d", code)
	}
}

// TestSessionCookieAttributes: the login's cookie lives SessionTTL (12 h)
// for the browser and in its signed expiry, on every path (so /logout gets
// it); the logout's clears it with the same flags. Kills: a longer signed
// life, no Max-Age, Path /monitor/, a logout cookie that is kept or not
// cleared.
func TestSessionCookieAttributes(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	e := newEnv(t, func(p *api.Params) { p.Now = func() time.Time { return now } })
	ck := signIn(t, e.url, testToken)
	if ck.MaxAge != int(api.SessionTTL.Seconds()) || ck.Path != "/" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Errorf("login cookie %+v: want Max-Age %d, Path /, HttpOnly, SameSite=Strict", ck, int(api.SessionTTL.Seconds()))
	}
	exp, _, _ := strings.Cut(ck.Value, ".")
	if want := strconv.FormatInt(now.Add(api.SessionTTL).Unix(), 10); exp != want {
		t.Errorf("signed expiry %s, want now+%s = %s", exp, api.SessionTTL, want)
	}
	req, _ := http.NewRequest("POST", e.url+"/logout", nil)
	req.AddCookie(ck)
	resp := send(t, req)
	out := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(out) != 1 {
		t.Fatalf("logout: %d cookies %v, want 303 and one cookie", resp.StatusCode, out)
	}
	if c := out[0]; c.Name != api.SessionCookie || c.Value != "" || c.MaxAge >= 0 || c.Path != "/" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("logout cookie %+v: want the session cookie cleared (empty, Max-Age=0, Path /, HttpOnly, Strict)", c)
	}
}

// TestLoginBodyLimit: the login form takes at most 16 KiB: a larger body is
// refused with 400 even when it holds a valid token. Kills: dropping the
// MaxBytesReader (ParseForm alone reads 10 MB).
func TestLoginBodyLimit(t *testing.T) {
	e := newEnv(t, nil)
	body := "pad=" + strings.Repeat("a", 20<<10) + "&token=" + testToken
	req, _ := http.NewRequest("POST", e.url+"/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp := send(t, req); resp.StatusCode != 400 || len(resp.Cookies()) != 0 {
		t.Errorf("20 KiB login form: %d %v, want 400 and no cookie", resp.StatusCode, resp.Cookies())
	}
}

// TestLoginCrossSiteRefused: another site cannot make the browser sign in
// (login CSRF: the victim would then work in the attacker's session). Kills:
// POST /login without CrossOriginProtection.
func TestLoginCrossSiteRefused(t *testing.T) {
	e := newEnv(t, nil)
	for _, h := range [][2]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		req, _ := http.NewRequest("POST", e.url+"/login", strings.NewReader("token="+testToken))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(h[0], h[1])
		if resp := send(t, req); resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
			t.Errorf("login with %s: %s: %d %v, want 403 and no cookie", h[0], h[1], resp.StatusCode, resp.Cookies())
		}
	}
}

// TestEndedSessionsHoldNoCookie: what logout writes to Redis names the
// session by a digest: no key or value holds the cookie or its signature.
// Kills: sessionID returning the cookie itself.
func TestEndedSessionsHoldNoCookie(t *testing.T) {
	e := newEnv(t, nil)
	ck := signIn(t, e.url, testToken)
	req, _ := http.NewRequest("POST", e.url+"/logout", nil)
	req.AddCookie(ck)
	if resp := send(t, req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if code := monitorWith(t, e.url, func(r *http.Request) { r.AddCookie(ck) }); code != 401 {
		t.Fatalf("ended session: %d", code)
	}
	rdb := redis.NewClient(&redis.Options{Addr: e.opt.Addr, DB: e.opt.DB})
	t.Cleanup(func() { _ = rdb.Close() })
	mac := ck.Value[strings.LastIndex(ck.Value, ".")+1:]
	keys, err := rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range keys {
		if strings.Contains(k, "session") {
			found = true
		}
		v, _ := rdb.Get(context.Background(), k).Result() // other types: WRONGTYPE, empty
		if strings.Contains(k, mac) || strings.Contains(v, mac) {
			t.Errorf("Redis key %q holds the cookie's signature", k)
		}
	}
	if !found {
		t.Errorf("no session key in Redis after logout (keys %v)", keys)
	}
}

// TestSessionsWhileRedisAway: while the store of ended sessions cannot be
// read, a session cookie opens nothing (the monitor's index page is static
// and would be shown), and a logout answers 503 (the session could not be
// ended) while still clearing the browser's cookie. Kills: validSession
// ignoring the store's error, logout ignoring RevokeSession's error.
func TestSessionsWhileRedisAway(t *testing.T) {
	db := redistest.New(t)
	cut := redistest.NewCut(t, db.Addr)
	opt := asynq.RedisClientOpt{Addr: cut.Addr(), DB: db.DB, DialTimeout: time.Second}
	rdb := tasks.NewRedisClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	e := newEnv(t, func(p *api.Params) { p.Ledger = tasks.NewLedger(rdb, tasks.LedgerOptions{}) })
	ck := signIn(t, e.url, testToken)
	if code := monitorWith(t, e.url, func(r *http.Request) { r.AddCookie(ck) }); code != 200 {
		t.Fatalf("session with Redis up: %d", code)
	}
	cut.Down()
	if code := monitorWith(t, e.url, func(r *http.Request) { r.AddCookie(ck) }); code != 401 {
		t.Errorf("session while the ended sessions cannot be read: %d, want 401", code)
	}
	req, _ := http.NewRequest("POST", e.url+"/logout", nil)
	req.AddCookie(ck)
	resp := send(t, req)
	if resp.StatusCode != 503 || len(resp.Cookies()) != 1 || resp.Cookies()[0].MaxAge >= 0 {
		t.Errorf("logout with Redis away: %d %v, want 503 and the cookie cleared", resp.StatusCode, resp.Cookies())
	}
	cut.Up()
	if code := monitorWith(t, e.url, func(r *http.Request) { r.AddCookie(ck) }); code != 200 {
		t.Errorf("the session that could not be ended, Redis back: %d, want 200", code)
	}
}

// TestV1UnknownRouteNeedsToken: an unknown /v1 path answers 401 without a
// token, so a caller without one learns nothing of the routes. Kills: the
// /v1/ catch-all without the bearer check.
func TestV1UnknownRouteNeedsToken(t *testing.T) {
	e := newEnv(t, nil)
	for _, p := range []string{"/v1/nope", "/v1/replies/a/b", "/v1/"} {
		if status, m := e.do(t, "GET", p, "", ""); status != 401 {
			t.Errorf("GET %s without a token: %d %v, want 401", p, status, m)
		}
	}
}

// TestMonitorUIReadOnly: the monitor's page tells asynqmon's UI whether it
// is read-only, so it shows no write buttons when it is. Kills: asynqmon
// mounted without ReadOnly (the API's writes are refused either way).
func TestMonitorUIReadOnly(t *testing.T) {
	for _, ro := range []bool{true, false} {
		e := newEnv(t, func(p *api.Params) { p.MonitorReadOnly = ro })
		req, _ := http.NewRequest("GET", e.url+"/monitor/", nil)
		req.SetBasicAuth("ops", testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = io.Copy(&b, resp.Body)
		resp.Body.Close()
		if want := `READ_ONLY="` + strconv.FormatBool(ro) + `"`; resp.StatusCode != 200 || !strings.Contains(b.String(), want) {
			t.Errorf("read-only %v: %d, page without %s", ro, resp.StatusCode, want)
		}
	}
}

// TestDefaultBodyLimit: with Params.MaxBody unset, /v1 takes bodies up to
// DefaultMaxBody (4 MiB) and refuses larger ones with 413. Kills: a zero
// MaxBody left as it is (every body refused), another default.
func TestDefaultBodyLimit(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.MaxBody = 0 })
	ok := `{"page_id":"` + e.page.ID + `","post_id":"` + e.page.ID + `_1","text":"hi"}`
	if status, m := e.do(t, "POST", "/v1/replies", testToken, ok); status != 202 {
		t.Errorf("small body with the default limit: %d %v", status, m)
	}
	big := `{"text":"` + strings.Repeat("a", api.DefaultMaxBody) + `"}`
	if status, m := e.do(t, "POST", "/v1/replies", testToken, big); status != 413 {
		t.Errorf("body past DefaultMaxBody: %d %v, want 413", status, m)
	}
	if api.DefaultMaxBody != 4<<20 {
		t.Errorf("DefaultMaxBody %d, want 4 MiB", api.DefaultMaxBody)
	}
}

// TestRequestLogHoldsNoToken: the request log never holds an API token,
// whichever way it came (bearer, basic auth, the login form). Kills: a
// request log line with a header in it.
func TestRequestLogHoldsNoToken(t *testing.T) {
	e := newEnv(t, nil)
	e.do(t, "GET", "/v1/replies/comment:404_404", testToken, "")
	monitorWith(t, e.url, func(r *http.Request) { r.SetBasicAuth("ops", testToken) })
	signIn(t, e.url, testToken)
	e.do(t, "GET", "/v1/replies/comment:404_404", "wrong-token-0123456789", "")
	logs := e.logs.String()
	if !strings.Contains(logs, `"path":"/login"`) {
		t.Fatalf("no request log line for /login:\n%s", logs)
	}
	for _, tok := range []string{testToken, "wrong-token-0123456789"} {
		if strings.Contains(logs, tok) {
			t.Errorf("the log holds token %q:\n%s", tok, grepLines(logs, tok))
		}
	}
}

// TestLoginFormNotCached: the sign-in form and the monitor's refusal are
// answers no cache keeps. Kills: dropping GET /login's Cache-Control.
func TestLoginFormNotCached(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest("GET", e.url+"/login", nil)
	if resp := send(t, req); resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("GET /login: %d Cache-Control %q, want 200 no-store", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

// TestMonitorReadOnlyRefusesEveryWrite: a read-only monitor's API refuses
// every method that writes, not only POST, with 405, Allow and why (asynqmon
// answers some with an empty 405). Kills: readOnlyMonitor letting DELETE
// through.
func TestMonitorReadOnlyRefusesEveryWrite(t *testing.T) {
	e := newEnv(t, nil)
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		resp, body := e.request(t, m, "/monitor/api/queues/replies/archived_tasks/some-task", testToken, "")
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" || !strings.Contains(string(body), "read-only") {
			t.Errorf("%s on the read-only monitor: %d Allow %q %s, want 405 and why", m, resp.StatusCode, resp.Header.Get("Allow"), body)
		}
	}
}
