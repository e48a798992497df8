// Package logspace spaces out a log line that a failure repeats for every
// task or request in flight (Redis away, say): the first in a period at its
// level, the others at debug, so an outage does not flood the log at the
// moment an operator reads it.
package logspace

import (
	"log/slog"
	"sync"
	"time"
)

// Period is how often at most a Line says its line at its level.
const Period = 10 * time.Second

// Line spaces one kind of line: the first in Period at its level, the
// others at debug, the next one at its level saying how many were left at
// debug (its "repeated" attribute). The zero Line is ready to use and safe
// for concurrent use.
type Line struct {
	mu      sync.Mutex
	last    time.Time
	skipped int
}

// Level returns the level of a line at now (level, or debug) and, for a
// line at level, how many were at debug since the last one.
func (e *Line) Level(now time.Time, level slog.Level) (slog.Level, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.last.IsZero() && now.Sub(e.last) < Period {
		e.skipped++
		return slog.LevelDebug, 0
	}
	n := e.skipped
	e.last, e.skipped = now, 0
	return level, n
}
