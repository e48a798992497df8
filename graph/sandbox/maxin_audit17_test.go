package sandbox

import (
	"testing"
	"time"
)

// TestMaxIn_audit17: MaxIn counts the sorted times inside a window of length
// d (a time d after the window's first is outside it) and gives the first
// time of the first busiest window.
func TestMaxIn_audit17(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	for _, c := range []struct {
		ts   []time.Time
		n    int
		from time.Time
	}{
		{nil, 0, time.Time{}},
		{at(0), 1, t0},
		{at(0, 1000), 1, t0},
		{at(0, 999), 2, t0},
		{at(0, 500, 1200, 1300, 1400), 4, t0.Add(500 * time.Millisecond)},
		{at(0, 100, 1500, 1600), 2, t0},
	} {
		if n, from := MaxIn(c.ts, time.Second); n != c.n || !from.Equal(c.from) {
			t.Errorf("MaxIn(%v): %d from %s, want %d from %s", c.ts, n, from, c.n, c.from)
		}
	}
}
