package worker

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// GraphObserver returns a graph.Config.Observer that counts every Graph call
// and pauses a Page whose usage headers say it is about to be throttled, even
// on a successful answer: Meta lengthens a block that is ignored.
func GraphObserver(l *tasks.Ledger, m *metrics.Metrics, log *slog.Logger) func(graph.CallInfo) {
	return observer(l, m, log, true)
}

// DryRunGraphObserver is GraphObserver for `poll --dry-run`, which writes
// nothing but the pause of a Page Graph throttles: it pauses the Page whose
// own usage headers are near the limit, never the app's Pages on X-App-Usage.
// The app near its limit may be another app than the one that runs (a token
// tried before a restart), and pausing every Page of the config for it would
// stop the replies of a service the dry run was only to look at.
func DryRunGraphObserver(l *tasks.Ledger, m *metrics.Metrics, log *slog.Logger) func(graph.CallInfo) {
	return observer(l, m, log, false)
}

func observer(l *tasks.Ledger, m *metrics.Metrics, log *slog.Logger, appPause bool) func(graph.CallInfo) {
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
		log := log.With(slog.String("page_id", ci.PageID))
		if ci.Usage.AppThrottled() {
			if !appPause {
				log.Warn("Graph says the app's usage (X-App-Usage) is near the limit ("+strconv.Itoa(ci.Usage.AppPercent)+"%); a dry run pauses no Page for it", slog.Duration("regain_access_in", d))
				return
			}
			// X-App-Usage is the app's, across every Page it serves.
			pauseApp(ctx, l, m, ci.PageID, d, 0, "the app's usage (X-App-Usage) near the limit ("+strconv.Itoa(ci.Usage.AppPercent)+"%)", log)
			return
		}
		pausePages(ctx, l, m, []string{ci.PageID}, ci.PageID, tasks.PauseThrottled, d, tasks.PauseThrottled+": "+usageReason(ci.Usage), log)
	}
}

// usageReason says why usage headers paused a Page: figures near the limit,
// or Graph's time to regain access (estimated_time_to_regain_access), which
// Graph gives for a Page it blocks whatever its figures say.
func usageReason(u graph.Usage) string {
	pct := strconv.Itoa(u.MaxPercent) + "%"
	switch {
	case u.RegainAccess <= 0:
		return "usage headers near the limit (" + pct + ")"
	case u.MaxPercent >= 95:
		return "usage headers near the limit (" + pct + "), access regained in " + u.RegainAccess.String()
	}
	return "usage headers say access is regained in " + u.RegainAccess.String() + " (usage " + pct + ")"
}
