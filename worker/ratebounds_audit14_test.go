package worker

import (
	"math"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
)

// TestLimitAtConfigBounds_audit14: at the slowest rate and largest burst
// the config takes (config.MaxRatePeriod, config.MaxBurst), the limiter's
// interval, burst × interval and admit slack still fit in a time.Duration.
// Past them they overflowed (a rate of 1/2562047h gave a negative interval)
// and the Page's backlog went out unpaced.
func TestLimitAtConfigBounds_audit14(t *testing.T) {
	p := &config.Page{Rate: config.Rate{N: 1, Per: config.MaxRatePeriod}, Burst: config.MaxBurst}
	lim := LimitOf(p, time.Second)
	if lim.Interval <= 0 || lim.Interval < config.MaxRatePeriod {
		t.Fatalf("interval %v at rate 1/%v", lim.Interval, config.MaxRatePeriod)
	}
	if float64(lim.Burst)*float64(lim.Interval) >= math.MaxInt64 {
		t.Fatalf("burst %d × interval %v overflows", lim.Burst, lim.Interval)
	}
	if tau := time.Duration(lim.Burst) * lim.Interval; tau <= 0 || tau/lim.Interval != time.Duration(lim.Burst) {
		t.Fatalf("burst × interval = %v", tau)
	}
	if n, window := admitOf(p); n < 1 || window < time.Second {
		t.Fatalf("admit %d in %v", n, window)
	}
}
