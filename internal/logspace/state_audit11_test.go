package logspace

import (
	"log/slog"
	"testing"
	"time"
)

// TestState_audit11: the same reason once per Period at its level, the
// others at debug; a new reason at its level at once, counting the ones at
// debug before it; Ok says what was failing and how many were at debug,
// and the next failure is at its level at once.
func TestState_audit11(t *testing.T) {
	var s State
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		at       time.Duration
		reason   string
		level    slog.Level
		repeated int
	}{
		{0, "oom", slog.LevelWarn, 0},
		{time.Second, "oom", slog.LevelDebug, 0},
		{2 * time.Second, "readonly", slog.LevelWarn, 1},
		{3 * time.Second, "readonly", slog.LevelDebug, 0},
		{4 * time.Second, "readonly", slog.LevelDebug, 0},
		{2*time.Second + Period, "readonly", slog.LevelWarn, 2},
	}
	for _, st := range steps {
		lvl, n := s.Failing(t0.Add(st.at), st.reason, slog.LevelWarn)
		if lvl != st.level || n != st.repeated {
			t.Errorf("%s at %s: %v, %d; want %v, %d", st.reason, st.at, lvl, n, st.level, st.repeated)
		}
	}
	s.Failing(t0.Add(Period+3*time.Second), "readonly", slog.LevelWarn)
	if was, n := s.Ok(); was != "readonly" || n != 1 {
		t.Errorf("Ok: %q, %d; want readonly, 1", was, n)
	}
	if was, n := s.Ok(); was != "" || n != 0 {
		t.Errorf("Ok again: %q, %d; want nothing", was, n)
	}
	if lvl, _ := s.Failing(t0.Add(Period+4*time.Second), "readonly", slog.LevelWarn); lvl != slog.LevelWarn {
		t.Errorf("a failure after Ok: %v, want at once", lvl)
	}
}
