package worker

import (
	"math"
	"testing"
	"time"
)

// TestSpacedSlowerSaturates_audit15: n put-backs on a Page of one reply a
// day span more than a time.Duration holds from about 21,000 on
// (n × interval × 5/4 overflowed int64 and turned negative or small), so
// put-backs due within the hour counted as spaced slower than the Page's
// rate, and WakePutBacks restarted their schedule. The spacing saturates
// instead; below the saturation the answer is as before.
func TestSpacedSlowerSaturates_audit15(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	day := 24 * time.Hour
	// 30,000 a day apart: 30,000 × 86,400 s × 5/4 + 2 s, which fits.
	spacing := 30_000*day + 30_000*day/4 + 2*time.Second
	for _, tc := range []struct {
		n        int
		interval time.Duration
		last     time.Time
		want     bool
	}{
		{30_000, day, now.Add(time.Hour), false},
		{30_000, day, now.Add(spacing - time.Second), false},
		{30_000, day, now.Add(spacing + time.Second), true},
		{100_000, day, now.Add(time.Hour), false},
		{1_000_000, day, now.Add(time.Hour), false},
		{math.MaxInt, time.Second, now.Add(time.Hour), false},
		{100_000, day, now.Add(time.Duration(math.MaxInt64)), false}, // as far as a Duration goes
		{3, time.Second, now.Add(6 * time.Second), true},
		{3, time.Second, now.Add(5500 * time.Millisecond), false},
	} {
		if got := spacedSlower(tc.n, tc.last, now, tc.interval); got != tc.want {
			t.Errorf("%d put-backs %s apart, the last in %s: spaced slower %v, want %v", tc.n, tc.interval, tc.last.Sub(now), got, tc.want)
		}
	}
}
