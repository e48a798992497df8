package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// endedSessions is a sessionStore in memory that keeps what it was told.
type endedSessions map[string]time.Time

func (s endedSessions) RevokeSession(_ context.Context, id string, until time.Time) error {
	s[id] = until
	return nil
}

func (s endedSessions) SessionRevoked(_ context.Context, id string) (bool, error) {
	_, ok := s[id]
	return ok, nil
}

// TestLogoutEndsSessionUntilItsExpiry: /logout records the session as ended
// until the expiry signed in its cookie, not for less (a copy of the cookie
// would open the monitor again before it expires), and sends the browser to
// the sign-in form. Kills: RevokeSession with another until.
func TestLogoutEndsSessionUntilItsExpiry(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	store := endedSessions{}
	a := newAuthenticator([]string{"tok-0123456789"}, func() time.Time { return now }, store)
	exp := now.Add(SessionTTL).Unix()
	v := session("tok-0123456789", exp, "abcdef")
	if !a.validSession(context.Background(), v) {
		t.Fatal("the session before logout is refused")
	}
	req := httptest.NewRequest("POST", "/logout", nil)
	req.AddCookie(&http.Cookie{Name: SessionCookie, Value: v})
	rec := httptest.NewRecorder()
	a.logout(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Errorf("logout: %d to %q, want 303 to /login", rec.Code, rec.Header().Get("Location"))
	}
	if until, ok := store[sessionID(v)]; !ok || !until.Equal(time.Unix(exp, 0)) {
		t.Errorf("session ended until %v (recorded %v), want its expiry %v", until, ok, time.Unix(exp, 0))
	}
	if a.validSession(context.Background(), v) {
		t.Error("the session after logout is still valid")
	}
}

// TestLongSessionCookieRefused: a session cookie past 160 bytes is refused
// before any HMAC is computed, even one signed with the token (a long nonce):
// the server issues none that long, and a client cannot make it hash
// kilobytes per token. Kills: dropping the length bound.
func TestLongSessionCookieRefused(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := newAuthenticator([]string{"tok-0123456789"}, func() time.Time { return now }, nil)
	exp := now.Add(SessionTTL).Unix()
	if v := session("tok-0123456789", exp, "abcdef"); !a.validSession(context.Background(), v) {
		t.Fatalf("a short session %q is refused", v)
	}
	v := session("tok-0123456789", exp, strings.Repeat("ab", 45))
	if len(v) <= 160 {
		t.Fatalf("session of %d bytes, want past 160", len(v))
	}
	if a.validSession(context.Background(), v) {
		t.Errorf("session of %d bytes: accepted, want refused past 160", len(v))
	}
}
