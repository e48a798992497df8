package api

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagereply/pagereply/internal/logspace"
	"github.com/pagereply/pagereply/tasks"
)

// pauseCollector exports each configured Page's pause at scrape time, read
// from the ledger: a Page paused because Graph throttled it or because its
// token broke sends nothing until the pause ends, and SPEC asks that a broken
// Page be said loudly, a metric included. The counter
// pagereply_page_pauses_total says a pause began; these say one is on now.
//
// pagereply_page_paused has one series per Page and kind of pause, whatever
// the Page's state: 1 for the kind it is paused with, 0 for the others, all 0
// when it is not paused. The set of series stays the same as pauses come and
// go (no series appears or vanishes with a pause, none has an empty kind), so
// max by (page) says whether a Page is paused and {kind="page_broken"} == 1
// which one is broken.
type pauseCollector struct {
	ledger *tasks.Ledger
	pages  []string
	log    *slog.Logger
	now    func() time.Time // the clock of the spaced lines
	// failed spaces the lines of failed reads (queueCollector.failed).
	failed logspace.Line
}

var (
	descPagePaused = prometheus.NewDesc("pagereply_page_paused",
		"Whether a Page is paused now, by kind of pause (throttled, page_broken, graph_down, policy_block, other): 1 for the kind it is paused with, 0 for the other kinds; all 0 when it is not paused.",
		[]string{"page", "kind"}, nil)
	descPagePauseLeft = prometheus.NewDesc("pagereply_page_pause_remaining_seconds",
		"How much longer a Page stays paused; 0 when it is not.", []string{"page"}, nil)
)

// pauseKinds are the kinds tasks.PauseKind returns, each a series of
// pagereply_page_paused; the last is the one for any other reason.
var pauseKinds = tasks.PauseKinds

// pauseKind returns the kind of pagereply_page_paused that a pause with
// reason sets to 1: tasks.PauseKind's, or the last of pauseKinds for one this
// list does not know, so that a paused Page never shows all 0.
func pauseKind(reason string) string {
	if k := tasks.PauseKind(reason); slices.Contains(pauseKinds, k) {
		return k
	}
	return pauseKinds[len(pauseKinds)-1]
}

// Describe implements prometheus.Collector.
func (c *pauseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPagePaused
	ch <- descPagePauseLeft
}

// Collect implements prometheus.Collector. A Redis failure leaves the gauges
// out of the scrape (and is logged, spaced) rather than failing it.
func (c *pauseCollector) Collect(ch chan<- prometheus.Metric) {
	if len(c.pages) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ps, err := c.ledger.PausedAll(ctx, c.pages)
	if err != nil {
		warnSpaced(c.log, c.now(), &c.failed, "metrics: read pauses", slog.String("error", err.Error()))
		return
	}
	for _, p := range ps {
		kind := ""
		if p.Left > 0 {
			kind = pauseKind(p.Reason)
		}
		for _, k := range pauseKinds {
			paused := 0.0
			if k == kind {
				paused = 1
			}
			ch <- prometheus.MustNewConstMetric(descPagePaused, prometheus.GaugeValue, paused, p.Page, k)
		}
		ch <- prometheus.MustNewConstMetric(descPagePauseLeft, prometheus.GaugeValue, p.Left.Seconds(), p.Page)
	}
}
