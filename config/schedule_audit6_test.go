package config

import (
	"strings"
	"testing"
	"time"
)

// TestEverySubSecondRefused: cron runs "@every" in whole seconds, at least
// one: it quietly polled "@every 1ms" and "@every 500ms" every second and
// "@every 1500ms" every second too. Such a schedule is refused at load, with
// the key named; whole seconds and longer are kept as written.
func TestEverySubSecondRefused(t *testing.T) {
	for _, spec := range []string{"@every 1ms", "@every 500ms", "@every 1500ms", "@every 1m0.5s", "TZ=Europe/Paris @every 0.5s"} {
		_, err := Parse([]byte(withPage("schedule: \""+spec+"\"", "")), env(nil))
		if err == nil || !strings.Contains(err.Error(), "pages[0].schedule") || !strings.Contains(err.Error(), "whole seconds") {
			t.Errorf("schedule %q: err %v, want pages[0].schedule refused for whole seconds", spec, err)
		}
	}
	for _, tc := range []struct {
		spec string
		want time.Duration
	}{{"@every 1s", time.Second}, {"@every 90s", 90 * time.Second}, {"@every 1m30s", 90 * time.Second}} {
		s, err := ParseSchedule(tc.spec)
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		a := s.Next(time.Unix(1000, 0))
		if got := s.Next(a).Sub(a); got != tc.want {
			t.Errorf("%q runs every %s, want %s", tc.spec, got, tc.want)
		}
	}
}

// TestScheduleDSTGapCounted: a daily poll at an hour a DST change skips
// (02:30 in Paris on the last Sunday of March) is 47 hours apart that day,
// and the schedule-gap check counts it: refused against a 47-hour max_age.
func TestScheduleDSTGapCounted(t *testing.T) {
	if _, err := time.LoadLocation("Europe/Paris"); err != nil {
		t.Skip(err)
	}
	_, err := Parse([]byte(withPage("schedule: \"CRON_TZ=Europe/Paris 30 2 * * *\"\nmax_age: 47h\nreply_to: [comments]", "")), env(nil))
	if err == nil || !strings.Contains(err.Error(), "pages[0].schedule") || !strings.Contains(err.Error(), "47h") {
		t.Errorf("err %v, want pages[0].schedule refused: polls up to 47h apart", err)
	}
}
