package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/pagereply/pagereply/internal/logspace"
	"github.com/pagereply/pagereply/tasks"
)

// AsynqLogger adapts a *slog.Logger to asynq.Logger (asynq has no slog adapter).
type AsynqLogger struct {
	l *slog.Logger
	// moves spaces asynq's "Could not move task id=…" warnings: a Redis
	// outage fails the move of every task in flight at once, a line each.
	moves logspace.Line
	// lostMoves spaces its errors alike: at shutdown, each of those moves
	// that still failed ("Could not move task id=…" at error; the task is
	// put back once its lease ends).
	lostMoves logspace.Line
	// awayWarn and awayErr space asynq's other warnings and errors that say
	// Redis is away (tasks.RedisAwayText): while it is, each of the two servers of
	// a worker process says "cannot subscribe to cancelation channel" every
	// 5 s, and its dequeue, heartbeat, forwarder, janitor and recoverer
	// fail in turn.
	awayWarn, awayErr logspace.Line
	// now is time.Now but in tests.
	now func() time.Time
}

// NewAsynqLogger returns an asynq.Logger writing to l with component=asynq.
func NewAsynqLogger(l *slog.Logger) *AsynqLogger {
	return &AsynqLogger{l: l.With(slog.String("component", "asynq")), now: time.Now}
}

// Debug logs at debug level.
func (a *AsynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }

// Info logs at info level.
func (a *AsynqLogger) Info(args ...any) { a.l.Info(fmt.Sprint(args...)) }

// Warn logs at warn level, but for asynq's "Retry exhausted for task id=…"
// when it archives a task: the worker's error handler has logged that task as
// archived with its error, and the words are wrong for a permanent error,
// which was never retried. That line goes to debug. asynq's "Could not move
// task id=…" (Redis away when a task ended: asynq moves it once Redis
// answers) is said at warn once per logspace.Period, the others at debug,
// the next warning saying how many (repeated). Any other warning that says
// Redis is away (tasks.RedisAwayText) is spaced alike, on its own count.
func (a *AsynqLogger) Warn(args ...any) {
	msg := fmt.Sprint(args...)
	if strings.HasPrefix(msg, "Retry exhausted for task id=") {
		a.l.Debug(msg)
		return
	}
	if strings.HasPrefix(msg, "Could not move task id=") {
		a.spaced(&a.moves, slog.LevelWarn, msg)
		return
	}
	if tasks.RedisAwayText(msg) {
		a.spaced(&a.awayWarn, slog.LevelWarn, msg)
		return
	}
	a.l.Warn(msg)
}

// Error logs at error level; asynq's "Could not move task id=…" (a move
// that still failed at shutdown) once per logspace.Period, the others at
// debug, the next error saying how many (repeated). Any other error that says
// Redis is away (tasks.RedisAwayText: "cannot subscribe to cancelation channel",
// "Dequeue error", "Failed to write server state data", ... while Redis is
// down or refusing writes) is spaced alike, on its own count; the others,
// each at error.
func (a *AsynqLogger) Error(args ...any) {
	msg := fmt.Sprint(args...)
	if strings.HasPrefix(msg, "Could not move task id=") {
		a.spaced(&a.lostMoves, slog.LevelError, msg)
		return
	}
	if tasks.RedisAwayText(msg) {
		a.spaced(&a.awayErr, slog.LevelError, msg)
		return
	}
	a.l.Error(msg)
}

// spaced logs msg at level once per logspace.Period of e, the others at
// debug.
func (a *AsynqLogger) spaced(e *logspace.Line, level slog.Level, msg string) {
	lvl, repeated := e.Level(a.now(), level)
	if repeated > 0 {
		a.l.Log(context.Background(), lvl, msg, slog.Int("repeated", repeated))
		return
	}
	a.l.Log(context.Background(), lvl, msg)
}

// Fatal logs at error level and exits with status 1, as asynq expects.
func (a *AsynqLogger) Fatal(args ...any) {
	a.l.Error(fmt.Sprint(args...))
	os.Exit(1)
}
