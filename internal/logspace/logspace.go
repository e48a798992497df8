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

// State spaces the lines of a state that a probe reports again and again
// (/readyz failing while Redis is away, asked every few seconds by anyone):
// the same reason once per Period at its level, the others at debug,
// counted as Line does; a new reason is said at once, and so is the end of
// the failure (Ok). The zero State is ready to use and safe for concurrent
// use.
type State struct {
	mu      sync.Mutex
	reason  string
	last    time.Time
	skipped int
}

// Failing returns the level of a line saying reason at now (level, or
// debug) and, for a line at level, how many were at debug since the last
// one. A reason other than the last one's is at level at once.
func (s *State) Failing(now time.Time, reason string, level slog.Level) (slog.Level, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if reason == s.reason && !s.last.IsZero() && now.Sub(s.last) < Period {
		s.skipped++
		return slog.LevelDebug, 0
	}
	n := s.skipped
	s.reason, s.last, s.skipped = reason, now, 0
	return level, n
}

// Ok records that the state is good again. It returns the reason it was
// failing for ("" when it was not: nothing to say) and how many lines were at
// debug since the last at level; the next failure is said at once.
func (s *State) Ok() (was string, repeated int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	was, repeated = s.reason, s.skipped
	s.reason, s.last, s.skipped = "", time.Time{}, 0
	return was, repeated
}
