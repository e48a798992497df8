package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagereply/pagereply/tasks"
)

// pauseCollector exports each configured Page's pause at scrape time, read
// from the ledger: a Page paused because Graph throttled it or because its
// token broke sends nothing until the pause ends, and SPEC asks that a broken
// Page be said loudly, a metric included. The counter
// pagereply_page_pauses_total says a pause began; these say one is on now.
type pauseCollector struct {
	ledger *tasks.Ledger
	pages  []string
	log    *slog.Logger
}

var (
	descPagePaused = prometheus.NewDesc("pagereply_page_paused",
		"1 while a Page is paused (kind: throttled, page_broken or other), else 0.", []string{"page", "kind"}, nil)
	descPagePauseLeft = prometheus.NewDesc("pagereply_page_pause_remaining_seconds",
		"How much longer a Page stays paused; 0 when it is not.", []string{"page"}, nil)
)

// Describe implements prometheus.Collector.
func (c *pauseCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPagePaused
	ch <- descPagePauseLeft
}

// Collect implements prometheus.Collector. A Redis failure leaves the gauges
// out of the scrape (and is logged) rather than failing it.
func (c *pauseCollector) Collect(ch chan<- prometheus.Metric) {
	if len(c.pages) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ps, err := c.ledger.PausedAll(ctx, c.pages)
	if err != nil {
		c.log.Warn("metrics: read pauses", slog.String("error", err.Error()))
		return
	}
	for _, p := range ps {
		paused, kind := 0.0, ""
		if p.Left > 0 {
			paused, kind = 1, tasks.PauseKind(p.Reason)
		}
		ch <- prometheus.MustNewConstMetric(descPagePaused, prometheus.GaugeValue, paused, p.Page, kind)
		ch <- prometheus.MustNewConstMetric(descPagePauseLeft, prometheus.GaugeValue, p.Left.Seconds(), p.Page)
	}
}
