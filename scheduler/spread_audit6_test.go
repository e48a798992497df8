package scheduler

import (
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
)

// TestSchedulesSpreadOverThePeriod: an agency's 5,000 Pages all on
// "@every 1m" (or one cron spec) poll spread over the minute, each at a
// second of its own that every replica agrees on, not all in one second:
// their polls' Graph calls share the app's allowance (X-App-Usage), and
// 5,000 polls queued at once outran the workers' poll slots, which dropped
// about half of them. A Page's polls keep the spec's spacing.
func TestSchedulesSpreadOverThePeriod(t *testing.T) {
	const n = 5000
	for _, tc := range []struct {
		name, spec string
		gap        time.Duration
	}{
		{"every minute", "@every 1m", time.Minute},
		{"cron every 5 minutes", "*/5 * * * *", 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pages := make([]config.Page, n)
			for i := range pages {
				pages[i] = config.Page{ID: strconv.Itoa(1983306698425200 + 7919*i), Schedule: tc.spec}
			}
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			s, err := New(Params{Pages: pages, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			replica, err := New(Params{Pages: pages, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			from := time.Date(2026, 12, 6, 12, 0, 30, 0, time.UTC)
			perSecond := map[int64]int{}
			for i, e := range s.pages {
				next := e.schedule.Next(from)
				if other := replica.pages[i].schedule.Next(from); !other.Equal(next) {
					t.Fatalf("page %s: replicas fire at %s and %s", e.page.ID, next, other)
				}
				if after := e.schedule.Next(next); after.Sub(next) != tc.gap {
					t.Fatalf("page %s: polls %s apart, want %s", e.page.ID, after.Sub(next), tc.gap)
				}
				if !next.After(from) || next.Sub(from) > tc.gap {
					t.Fatalf("page %s: next poll at %s, from %s", e.page.ID, next, from)
				}
				perSecond[next.Unix()]++
			}
			most := 0
			for _, c := range perSecond {
				most = max(most, c)
			}
			// 5,000 over 60 seconds is 83 a second on average.
			if len(perSecond) < 55 || most > 3*n/60 {
				t.Fatalf("%d Pages poll in %d distinct seconds, at most %d in one; want them spread over the minute", n, len(perSecond), most)
			}
		})
	}
}
