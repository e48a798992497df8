package api

import (
	"context"
	"testing"
	"time"
)

// TestSessionExpires: a monitor session cookie is refused from its expiry
// second on, and accepted before it.
func TestSessionExpires(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	a := newAuthenticator([]string{"tok-0123456789"}, func() time.Time { return now }, nil)
	for _, tc := range []struct {
		exp  int64
		want bool
	}{
		{now.Unix() + 1, true},
		{now.Unix(), false},
		{now.Unix() - 1, false},
		{now.Unix() - 3600, false},
	} {
		v := session("tok-0123456789", tc.exp, "abcdef")
		if got := a.validSession(context.Background(), v); got != tc.want {
			t.Errorf("session expiring at now%+ds: valid %v, want %v", tc.exp-now.Unix(), got, tc.want)
		}
	}
}
