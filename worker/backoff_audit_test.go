package worker

import (
	"testing"
	"time"
)

// TestBackoffJitterBothSides: Backoff's delays spread over [½, 1½) of the
// doubled base, above it as well as below, so retries of many tasks spread
// out rather than bunch under it.
func TestBackoffJitterBothSides(t *testing.T) {
	const base, max = 100 * time.Millisecond, time.Minute
	want := 4 * base // n = 2
	var below, above bool
	for range 500 {
		d := Backoff(2, base, max)
		if d < want/2 || d >= want*3/2 {
			t.Fatalf("Backoff(2) = %s, want within [%s, %s)", d, want/2, want*3/2)
		}
		below = below || d < want
		above = above || d > want
	}
	if !below || !above {
		t.Fatalf("500 delays of Backoff(2) below %s: %v, above it: %v; want both", want, below, above)
	}
}
