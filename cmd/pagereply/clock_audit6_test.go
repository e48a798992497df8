package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// TestCheckClockWarnsOnSkew: a host whose clock is 30 seconds or 5 minutes
// off Redis's is told so at start (its reply windows are measured on it), in
// either direction; one a second off is not.
func TestCheckClockWarnsOnSkew(t *testing.T) {
	for _, tc := range []struct {
		skew time.Duration // Redis's clock minus this host's
		want string
	}{
		{5 * time.Minute, "5m0s behind Redis's"},
		{-30 * time.Second, "30s ahead of Redis's"},
		{time.Second, ""},
	} {
		mr := miniredis.RunT(t)
		mr.SetTime(time.Now().Add(tc.skew))
		rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = rdb.Close() })
		var buf bytes.Buffer
		checkClock(context.Background(), rdb, slog.New(slog.NewTextHandler(&buf, nil)))
		got := buf.String()
		switch {
		case tc.want == "" && got != "":
			t.Errorf("skew %s: logged %q, want nothing", tc.skew, got)
		case tc.want != "" && (!strings.Contains(got, "level=WARN") || !strings.Contains(got, tc.want) || !strings.Contains(got, "NTP")):
			t.Errorf("skew %s: logged %q, want a WARN saying %q", tc.skew, got, tc.want)
		}
	}
}
