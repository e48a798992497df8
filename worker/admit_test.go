package worker

import (
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
)

func TestAdmitOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rate   config.Rate
		burst  int
		max    int
		window time.Duration
	}{
		{"default burst", config.Rate{N: 10, Per: time.Second}, 1, 11, 1050 * time.Millisecond},
		{"burst buys slack", config.Rate{N: 5, Per: time.Second}, 3, 8, 1400 * time.Millisecond},
		{"fast page", config.Rate{N: 50, Per: time.Second}, 5, 55, 1080 * time.Millisecond},
		{"slack capped", config.Rate{N: 1, Per: time.Second}, 5, 6, 2 * time.Second},
		{"no burst", config.Rate{N: 20, Per: time.Second}, 0, 20, 1050 * time.Millisecond},
		{"per minute", config.Rate{N: 30, Per: time.Minute}, 1, 1, 1050 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, w := admitOf(&config.Page{Rate: tc.rate, Burst: tc.burst})
			if n != tc.max || w != tc.window {
				t.Fatalf("admitOf(%v, burst %d) = %d in %s, want %d in %s", tc.rate, tc.burst, n, w, tc.max, tc.window)
			}
			// The gate does not slow the paced flow (1% under the rate).
			if ps := tc.rate.PerSecond(); tc.burst >= 1 && float64(n)/w.Seconds() < ps/1.01 {
				t.Errorf("%d sends in %s admit %.2f/s, under the paced %.2f/s", n, w, float64(n)/w.Seconds(), ps/1.01)
			}
		})
	}
}
