package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// GraphObserver returns a graph.Config.Observer that counts every Graph call
// and pauses a Page whose usage headers say it is about to be throttled, even
// on a successful answer: Meta lengthens a block that is ignored.
func GraphObserver(l *tasks.Ledger, m *metrics.Metrics, log *slog.Logger) func(graph.CallInfo) {
	return func(ci graph.CallInfo) {
		m.ObserveGraph(ci)
		if ci.PageID == "" || !ci.Usage.Throttled() || ci.Code != 0 {
			// Errors are paused by the handler, which knows the class.
			return
		}
		d := ci.Usage.RegainAccess
		if d <= 0 {
			d = defaultThrottlePause
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		set, err := l.Pause(ctx, ci.PageID, d, tasks.PauseThrottled+": usage headers near the limit")
		if err != nil {
			log.Error("pause page", slog.String("page_id", ci.PageID), slog.String("error", err.Error()))
			return
		}
		if set {
			m.PagePauses.WithLabelValues(ci.PageID, tasks.PauseThrottled).Inc()
			log.Warn("page paused: Graph usage near the limit", slog.String("page_id", ci.PageID),
				slog.Int("usage_percent", ci.Usage.MaxPercent), slog.Duration("for", d))
		}
	}
}
