package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SessionCookie is the name of the monitor's session cookie, set by POST /login.
// It holds an expiry, a random nonce and an HMAC of both keyed by the API
// token, never the token.
const SessionCookie = "pagereply_session"

// SessionTTL is how long a monitor session cookie is valid.
const SessionTTL = 12 * time.Hour

// authenticator checks API tokens in constant time. With no tokens (the
// --insecure mode) it lets everything through.
type authenticator struct {
	tokens  []string
	digests [][sha256.Size]byte
	now     func() time.Time
	// revoked holds the sessions ended by /logout until they expire,
	// shared by every api process; nil keeps none (a logout then only
	// clears the browser's cookie).
	revoked sessionStore
}

// sessionStore keeps ended sessions (tasks.Ledger implements it).
type sessionStore interface {
	RevokeSession(ctx context.Context, id string, until time.Time) error
	SessionRevoked(ctx context.Context, id string) (bool, error)
}

func newAuthenticator(tokens []string, now func() time.Time, revoked sessionStore) *authenticator {
	a := &authenticator{now: now, revoked: revoked}
	for _, t := range tokens {
		if t == "" {
			continue
		}
		a.tokens = append(a.tokens, t)
		a.digests = append(a.digests, sha256.Sum256([]byte(t)))
	}
	return a
}

func (a *authenticator) open() bool { return len(a.tokens) == 0 }

// valid reports whether tok is one of the tokens. It compares digests, so the
// time taken does not depend on where tok differs nor on its length, and it
// compares against every token.
func (a *authenticator) valid(tok string) bool {
	if tok == "" {
		return false
	}
	d := sha256.Sum256([]byte(tok))
	ok := 0
	for i := range a.digests {
		ok |= subtle.ConstantTimeCompare(d[:], a.digests[i][:])
	}
	return ok == 1
}

// bearerToken returns the token of an "Authorization: Bearer T" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

// bearer guards /v1: a valid bearer token or 401.
func (a *authenticator) bearer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.open() {
			next.ServeHTTP(w, r)
			return
		}
		tok, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pagereply"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <api token>", "")
			return
		}
		if !a.valid(tok) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pagereply", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid bearer token", "")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// browser guards the monitor: a bearer token, basic auth with a token as the
// password (any user name), or a session cookie from /login. Otherwise 401 with
// a basic-auth challenge and, for when the browser's dialog is cancelled, a
// link to the login form.
func (a *authenticator) browser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.open() || a.fromRequest(r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="pagereply monitor", charset="UTF-8"`)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusUnauthorized)
		_ = pageTmpl.Execute(w, pageData{Title: "Sign in required", Login: true})
	})
}

func (a *authenticator) fromRequest(r *http.Request) bool {
	if tok, ok := bearerToken(r); ok {
		return a.valid(tok)
	}
	if _, pw, ok := r.BasicAuth(); ok {
		return a.valid(pw)
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		return a.validSession(r.Context(), c.Value)
	}
	return false
}

// sessionID names a session in the store of ended ones: a digest of its
// cookie, so the store never holds a usable cookie.
func sessionID(v string) string {
	d := sha256.Sum256([]byte("pagereply monitor session id|" + v))
	return hex.EncodeToString(d[:16])
}

// newSession returns a new session cookie value for tok valid until exp,
// with a random nonce, so that two sign-ins never share a cookie (ending one
// with /logout would end the other).
func newSession(tok string, exp int64) string {
	var n [12]byte
	_, _ = rand.Read(n[:])
	return session(tok, exp, hex.EncodeToString(n[:]))
}

// session returns the cookie value for tok, exp and nonce:
// "exp.nonce.hex(HMAC-SHA256(tok, label|exp|nonce))".
func session(tok string, exp int64, nonce string) string {
	e := strconv.FormatInt(exp, 10)
	m := hmac.New(sha256.New, []byte(tok))
	m.Write([]byte("pagereply monitor session|" + e + "|" + nonce))
	return e + "." + nonce + "." + hex.EncodeToString(m.Sum(nil))
}

// validSession reports whether v is a session cookie signed with one of the
// tokens, not expired and not ended by /logout. When the store of ended
// sessions cannot be read (Redis away), the session is refused: the
// monitor reads Redis too, and a logout must not come undone meanwhile.
func (a *authenticator) validSession(ctx context.Context, v string) bool {
	if _, ok := a.sessionExpiry(v); !ok {
		return false
	}
	if a.revoked == nil {
		return true
	}
	gone, err := a.revoked.SessionRevoked(ctx, sessionID(v))
	return err == nil && !gone
}

// sessionExpiry returns the expiry of a session cookie signed with one of the
// tokens and not expired.
func (a *authenticator) sessionExpiry(v string) (int64, bool) {
	e, rest, ok := strings.Cut(v, ".")
	if !ok || len(v) > 160 {
		return 0, false
	}
	nonce, _, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, false
	}
	exp, err := strconv.ParseInt(e, 10, 64)
	if err != nil || a.now().Unix() >= exp {
		return 0, false
	}
	ok2 := 0
	for _, t := range a.tokens {
		ok2 |= subtle.ConstantTimeCompare([]byte(v), []byte(session(t, exp, nonce)))
	}
	return exp, ok2 == 1
}

type pageData struct {
	Title string
	Error string
	Login bool
}

var pageTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>pagereply — {{.Title}}</title>
<style>body{font-family:sans-serif;max-width:28em;margin:4em auto}input{font-size:1em;padding:.3em;width:100%;box-sizing:border-box;margin:.4em 0}</style>
</head><body><h1>pagereply monitor</h1>
{{if .Error}}<p style="color:#b00">{{.Error}}</p>{{end}}
{{if .Login}}<form method="post" action="/login">
<label>API token <input type="password" name="token" autocomplete="current-password" autofocus required></label>
<input type="submit" value="Sign in">
</form>
<p><small>The session cookie holds a signature made with the token, not the token, and lasts 12 hours.</small></p>{{end}}
</body></html>
`))

// loginForm shows the form that trades an API token for a session cookie.
func (a *authenticator) loginForm(w http.ResponseWriter, r *http.Request) {
	if a.open() {
		http.Redirect(w, r, "/monitor/", http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = pageTmpl.Execute(w, pageData{Title: "Sign in", Login: true})
}

// login checks the token of the form and sets the session cookie: HttpOnly,
// SameSite=Strict (so no other site can make the browser use it), Secure on TLS.
func (a *authenticator) login(w http.ResponseWriter, r *http.Request) {
	if a.open() {
		http.Redirect(w, r, "/monitor/", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_ = pageTmpl.Execute(w, pageData{Title: "Sign in", Error: "The form could not be read.", Login: true})
		return
	}
	tok := r.PostForm.Get("token")
	if !a.valid(tok) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_ = pageTmpl.Execute(w, pageData{Title: "Sign in", Error: "That is not an API token of this server.", Login: true})
		return
	}
	exp := a.now().Add(SessionTTL).Unix()
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: newSession(tok, exp), Path: "/",
		MaxAge: int(SessionTTL.Seconds()), HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/monitor/", http.StatusSeeOther)
}

// overTLS reports whether the browser reached the API over TLS: directly,
// or through the TLS-terminating proxy deploy/README.md puts in front of it
// (X-Forwarded-Proto or Forwarded proto=https), so the session cookie is
// marked Secure and never sent over plain HTTP. A client that fakes the
// header only makes its own cookie stricter.
func overTLS(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https") {
		return true
	}
	for _, f := range r.Header.Values("Forwarded") {
		for _, part := range strings.FieldsFunc(f, func(c rune) bool { return c == ';' || c == ',' }) {
			if k, v, ok := strings.Cut(strings.TrimSpace(part), "="); ok && strings.EqualFold(k, "proto") && strings.EqualFold(strings.Trim(v, `"`), "https") {
				return true
			}
		}
	}
	return false
}

// logout ends the session: it is recorded as ended until it would have
// expired (so a copy of the cookie no longer opens the monitor, on any api
// process), and the browser's cookie is cleared.
func (a *authenticator) logout(w http.ResponseWriter, r *http.Request) {
	// The browser's cookie is cleared whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: overTLS(r), SameSite: http.SameSiteStrictMode})
	if c, err := r.Cookie(SessionCookie); err == nil && a.revoked != nil {
		if exp, ok := a.sessionExpiry(c.Value); ok {
			if err := a.revoked.RevokeSession(r.Context(), sessionID(c.Value), time.Unix(exp, 0)); err != nil {
				// Redis away, as for the API's other 503s (redisRetryAfter).
				writeUnavailable(w, redisRetryAfter, "signed out in this browser, but the session could not be ended for other copies of its cookie (Redis): sign out again when Redis is back")
				return
			}
		}
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
