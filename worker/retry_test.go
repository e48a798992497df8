package worker

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
)

func TestIsFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"delay", &delayError{d: time.Second, reason: "paused"}, false},
		{"wrapped delay", fmt.Errorf("x: %w", &delayError{d: time.Second}), false},
		{"transient", errors.New("graph: 500"), true},
		{"skip retry", fmt.Errorf("bad: %w", asynq.SkipRetry), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsFailure(tc.err); got != tc.want {
				t.Fatalf("IsFailure(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	base, max := 100*time.Millisecond, 2*time.Second
	for n := 0; n < 10; n++ {
		want := base << n
		if want > max {
			want = max
		}
		for i := 0; i < 50; i++ {
			d := Backoff(n, base, max)
			if d < want/2 || d > want*3/2 {
				t.Fatalf("Backoff(%d) = %s, want within [%s, %s]", n, d, want/2, want*3/2)
			}
		}
	}
	// Jitter: retries of many tasks spread out.
	seen := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		seen[Backoff(3, base, max)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("Backoff has little jitter: %d distinct values of 20", len(seen))
	}
}

func TestRetryDelayHonoursDelayErrors(t *testing.T) {
	w := New(Params{BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
	if d := w.retryDelay(0, &delayError{d: 42 * time.Second}, nil); d != 42*time.Second {
		t.Fatalf("delay = %s, want 42s", d)
	}
	if d := w.retryDelay(5, errors.New("x"), nil); d > 2*time.Millisecond {
		t.Fatalf("backoff = %s, want about 1ms", d)
	}
}

func TestLimitOf(t *testing.T) {
	p := &config.Page{Rate: config.Rate{N: 50, Per: time.Second}, Burst: 3}
	l := LimitOf(p, time.Second)
	if l.Interval < 20*time.Millisecond || l.Interval > 21*time.Millisecond || l.Burst != 3 || l.MaxWait != time.Second {
		t.Fatalf("LimitOf = %+v", l)
	}
	if l := LimitOf(&config.Page{}, time.Second); l.Interval != 0 {
		t.Fatalf("no rate: %+v, want no limit", l)
	}
}
