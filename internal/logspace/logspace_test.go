package logspace

import (
	"log/slog"
	"testing"
	"time"
)

// TestLine: the first line of a period at its level, the others at debug,
// and the first of the next period counts them.
func TestLine(t *testing.T) {
	var l Line
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	steps := []struct {
		at       time.Duration
		level    slog.Level
		repeated int
	}{
		{0, slog.LevelWarn, 0},
		{time.Second, slog.LevelDebug, 0},
		{Period - time.Millisecond, slog.LevelDebug, 0},
		{Period, slog.LevelWarn, 2},
		{Period + time.Second, slog.LevelDebug, 0},
		{3 * Period, slog.LevelWarn, 1},
	}
	for _, s := range steps {
		lvl, n := l.Level(t0.Add(s.at), slog.LevelWarn)
		if lvl != s.level || n != s.repeated {
			t.Errorf("at %s: %v, %d; want %v, %d", s.at, lvl, n, s.level, s.repeated)
		}
	}
}
