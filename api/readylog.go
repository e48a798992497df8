package api

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pagereply/pagereply/internal/logspace"
)

// ReadyLog says what /readyz finds, on api.addr and on --health-addr:
// anyone who can reach the address can ask, and Kubernetes asks every few
// seconds, so a failure for the same reason is a WARN once per
// logspace.Period and debug for the others (counted in the next WARN's
// "repeated"); a new reason (Redis refusing writes for OOM, then READONLY)
// is a WARN at once, and the end of the failure an INFO line at once. The
// zero ReadyLog is ready to use and safe for concurrent use.
type ReadyLog struct{ state logspace.State }

// Failed logs a failed probe: reason is its answer (tasks.ReadyReason),
// err Redis's error, which the answer does not hold.
func (l *ReadyLog) Failed(ctx context.Context, log *slog.Logger, reason string, err error) {
	lvl, repeated := l.state.Failing(time.Now(), reason, slog.LevelWarn)
	attrs := []slog.Attr{slog.String("error", err.Error())}
	if lvl != slog.LevelDebug {
		attrs = append(attrs, slog.Int("repeated", repeated),
			slog.String("hint", "the same failure is logged at debug for the next "+logspace.Period.String()+"; a new reason or the end of it at once"))
	}
	log.LogAttrs(ctx, lvl, "readyz: "+reason, attrs...)
}

// Ready logs a probe that passed: an INFO line when the ones before it
// failed, saying for what, nothing otherwise.
func (l *ReadyLog) Ready(ctx context.Context, log *slog.Logger) {
	if was, repeated := l.state.Ok(); was != "" {
		log.LogAttrs(ctx, slog.LevelInfo, "readyz: ready again", slog.String("was", was), slog.Int("repeated", repeated))
	}
}

// pageLog spaces a failure that repeats for each of a Page's requests: a
// logspace.State per Page, keyed by the failure's kind, so one Page failing
// neither hides another's first line nor is hidden by it. Its Pages are the
// configured ones (a request for another is refused before). The zero
// pageLog is ready to use and safe for concurrent use.
type pageLog struct {
	mu    sync.Mutex
	pages map[string]*logspace.State
}

// Failing returns the level of a line saying Page page fails for reason at
// now (level, or debug) and, for a line at level, how many were at debug
// since the last one (logspace.State.Failing).
func (p *pageLog) Failing(now time.Time, page, reason string, level slog.Level) (slog.Level, int) {
	p.mu.Lock()
	st := p.pages[page]
	if st == nil {
		if p.pages == nil {
			p.pages = map[string]*logspace.State{}
		}
		st = &logspace.State{}
		p.pages[page] = st
	}
	p.mu.Unlock()
	return st.Failing(now, reason, level)
}
