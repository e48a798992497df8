package api_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// loginFormMarkup is what tells a page holds the sign-in form.
const loginFormMarkup = `<form method="post" action="/login">`

// readPage sends req without following redirects and returns the answer and
// its body.
func readPage(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestInsecureModeOpen: started with no token and Insecure (--insecure),
// /v1 and the monitor let everyone in, and the sign-in pages send the
// browser on to the monitor without a cookie (there is nothing to sign in
// with). Kills: bearer, browser, loginForm or login without their open()
// shortcut.
func TestInsecureModeOpen(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Tokens = nil; p.Insecure = true })
	if status, m := e.do(t, "GET", "/v1/replies/comment:404_404", "", ""); status != 404 {
		t.Errorf("/v1 without a token, insecure: %d %v, want 404 (let in)", status, m)
	}
	ok := `{"page_id":"` + e.page.ID + `","post_id":"` + e.page.ID + `_1","text":"hi"}`
	if status, m := e.do(t, "POST", "/v1/replies", "", ok); status != 202 {
		t.Errorf("POST /v1/replies without a token, insecure: %d %v, want 202", status, m)
	}
	if code := monitorWith(t, e.url, func(*http.Request) {}); code != 200 {
		t.Errorf("monitor without credentials, insecure: %d, want 200", code)
	}
	req, _ := http.NewRequest("GET", e.url+"/login", nil)
	if resp := send(t, req); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/monitor/" {
		t.Errorf("GET /login, insecure: %d to %q, want 303 to /monitor/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err := noRedirect.PostForm(e.url+"/login", url.Values{"token": {"anything-at-all-0123"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/monitor/" || len(resp.Cookies()) != 0 {
		t.Errorf("POST /login, insecure: %d to %q cookies %v, want 303 to /monitor/ and no cookie",
			resp.StatusCode, resp.Header.Get("Location"), resp.Cookies())
	}
}

// TestSignInPages: the monitor's 401 is an HTML page that carries the
// sign-in form (for when the browser's basic-auth dialog is cancelled), as
// GET /login does; a refused sign-in says so with the form again, 401, and
// never shows the token it was sent. Kills: the 401 page or GET /login
// without the form or as another content type, the refusal echoing the
// token or answered 403.
func TestSignInPages(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest("GET", e.url+"/monitor/", nil)
	resp, page := readPage(t, req)
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(page, loginFormMarkup) {
		t.Errorf("monitor without credentials: %d %q, want 401 text/html with the sign-in form:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	req, _ = http.NewRequest("GET", e.url+"/login", nil)
	resp, page = readPage(t, req)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(page, loginFormMarkup) {
		t.Errorf("GET /login: %d %q, want 200 text/html with the sign-in form:\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), page)
	}
	const wrong = "wrong-token-that-must-not-come-back"
	req, _ = http.NewRequest("POST", e.url+"/login", strings.NewReader(url.Values{"token": {wrong}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, page = readPage(t, req)
	if resp.StatusCode != 401 || len(resp.Cookies()) != 0 || !strings.Contains(page, loginFormMarkup) ||
		!strings.Contains(page, "not an API token") {
		t.Errorf("wrong token: %d cookies %v, want 401, no cookie, why and the form again:\n%s", resp.StatusCode, resp.Cookies(), page)
	}
	if strings.Contains(page, wrong) {
		t.Errorf("the refused sign-in shows the token it was sent:\n%s", page)
	}
}

// TestWrongCredentialsBesideSession: a wrong bearer token or basic-auth
// password is refused even when the request also carries a valid session
// cookie: credentials that are sent and wrong are not passed over for
// others. Kills: fromRequest falling through to the cookie when the
// Authorization header fails.
func TestWrongCredentialsBesideSession(t *testing.T) {
	e := newEnv(t, nil)
	ck := signIn(t, e.url, testToken)
	for name, set := range map[string]func(*http.Request){
		"wrong bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer wrong-token-0123456789") },
		"wrong basic":  func(r *http.Request) { r.SetBasicAuth("ops", "wrong-token-0123456789") },
	} {
		if code := monitorWith(t, e.url, func(r *http.Request) { set(r); r.AddCookie(ck) }); code != 401 {
			t.Errorf("%s beside a valid session cookie: %d, want 401", name, code)
		}
	}
	if code := monitorWith(t, e.url, func(r *http.Request) { r.AddCookie(ck) }); code != 200 {
		t.Fatalf("the session cookie alone: %d", code)
	}
}

// TestLoginTokenOnlyFromBody: the sign-in form's token is read from the
// POST body only; one in the URL's query (which proxies and browsers keep
// in their logs and history) signs nobody in. Kills: r.FormValue for
// r.PostForm.Get.
func TestLoginTokenOnlyFromBody(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest("POST", e.url+"/login?token="+url.QueryEscape(testToken), strings.NewReader(""))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp := send(t, req); resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Errorf("token in the query: %d %v, want 401 and no cookie", resp.StatusCode, resp.Cookies())
	}
}

// TestSecureCookieProxyForms: behind a TLS proxy the session cookie is
// Secure however the proxy spells it (X-Forwarded-Proto in any case or with
// blanks, Forwarded with blanks after its separators), and logout's
// clearing cookie is Secure too; over plain HTTP neither is. Kills: a
// case-sensitive or untrimmed X-Forwarded-Proto, Forwarded parts not
// trimmed, logout's cookie never Secure.
func TestSecureCookieProxyForms(t *testing.T) {
	e := newEnv(t, nil)
	for _, h := range [][2]string{
		{"X-Forwarded-Proto", "HTTPS"},
		{"X-Forwarded-Proto", " https"},
		{"Forwarded", `for=192.0.2.60; proto=https; by=203.0.113.43`},
		{"Forwarded", `for=192.0.2.43, proto="https"`},
	} {
		req, _ := http.NewRequest("POST", e.url+"/login", strings.NewReader("token="+testToken))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(h[0], h[1])
		resp := send(t, req)
		if ck := resp.Cookies(); resp.StatusCode != http.StatusSeeOther || len(ck) != 1 || !ck[0].Secure {
			t.Errorf("login with %s: %s: %d %+v, want a Secure cookie", h[0], h[1], resp.StatusCode, ck)
		}
		req, _ = http.NewRequest("POST", e.url+"/logout", nil)
		req.Header.Set(h[0], h[1])
		resp = send(t, req)
		if ck := resp.Cookies(); len(ck) != 1 || !ck[0].Secure {
			t.Errorf("logout with %s: %s: %+v, want a Secure clearing cookie", h[0], h[1], ck)
		}
	}
	req, _ := http.NewRequest("POST", e.url+"/logout", nil)
	if ck := send(t, req).Cookies(); len(ck) != 1 || ck[0].Secure {
		t.Errorf("logout over plain HTTP: %+v, want a clearing cookie not Secure", ck)
	}
}
