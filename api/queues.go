package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagereply/pagereply/internal/logspace"
)

// queueCollector exports asynq's queue sizes at scrape time, read with the
// Inspector. It follows the metric names of asynq's x/metrics collector (a
// separate module this repository does not pull in): asynq_queue_size,
// asynq_queue_latency_seconds, asynq_queue_memory_usage_approx_bytes,
// asynq_tasks_processed_total, asynq_tasks_failed_total, asynq_queue_paused_total.
type queueCollector struct {
	in  *asynq.Inspector
	log *slog.Logger
	now func() time.Time // the clock of the spaced lines
	// failed spaces the lines of failed reads: /metrics needs no
	// credentials, and with Redis away every scrape fails alike.
	failed logspace.Line
}

// warnSpaced logs msg at WARN once per logspace.Period of e, the others at
// debug, counted in the next WARN's "repeated": a line every scrape (or
// request) repeats while Redis is away.
func warnSpaced(log *slog.Logger, now time.Time, e *logspace.Line, msg string, attrs ...any) {
	lvl, repeated := e.Level(now, slog.LevelWarn)
	if repeated > 0 {
		attrs = append(attrs, slog.Int("repeated", repeated))
	}
	log.Log(context.Background(), lvl, msg, attrs...)
}

func newQueueCollector(in *asynq.Inspector, log *slog.Logger, now func() time.Time) *queueCollector {
	return &queueCollector{in: in, log: log, now: now}
}

var (
	descSize      = prometheus.NewDesc("asynq_queue_size", "Number of tasks in a queue, by state.", []string{"queue", "state"}, nil)
	descLatency   = prometheus.NewDesc("asynq_queue_latency_seconds", "Age of the oldest pending task of a queue.", []string{"queue"}, nil)
	descMemory    = prometheus.NewDesc("asynq_queue_memory_usage_approx_bytes", "Approximate Redis memory a queue uses.", []string{"queue"}, nil)
	descProcessed = prometheus.NewDesc("asynq_tasks_processed_total", "Tasks processed (succeeded or failed) by a queue.", []string{"queue"}, nil)
	descFailed    = prometheus.NewDesc("asynq_tasks_failed_total", "Tasks of a queue whose handler failed.", []string{"queue"}, nil)
	descPaused    = prometheus.NewDesc("asynq_queue_paused_total", "1 when a queue is paused.", []string{"queue"}, nil)
)

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSize, descLatency, descMemory, descProcessed, descFailed, descPaused} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. A Redis failure leaves the gauges
// out of the scrape (and is logged, spaced) rather than failing it.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	qs, err := c.in.Queues()
	if err != nil {
		warnSpaced(c.log, c.now(), &c.failed, "metrics: list asynq queues", slog.String("error", err.Error()))
		return
	}
	for _, q := range qs {
		info, err := c.in.GetQueueInfo(q)
		if err != nil {
			warnSpaced(c.log, c.now(), &c.failed, "metrics: asynq queue info", slog.String("queue", q), slog.String("error", err.Error()))
			continue
		}
		for state, n := range map[string]int{
			"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled, "retry": info.Retry,
			"archived": info.Archived, "completed": info.Completed, "aggregating": info.Aggregating,
		} {
			ch <- prometheus.MustNewConstMetric(descSize, prometheus.GaugeValue, float64(n), q, state)
		}
		ch <- prometheus.MustNewConstMetric(descLatency, prometheus.GaugeValue, info.Latency.Seconds(), q)
		ch <- prometheus.MustNewConstMetric(descMemory, prometheus.GaugeValue, float64(info.MemoryUsage), q)
		ch <- prometheus.MustNewConstMetric(descProcessed, prometheus.CounterValue, float64(info.ProcessedTotal), q)
		ch <- prometheus.MustNewConstMetric(descFailed, prometheus.CounterValue, float64(info.FailedTotal), q)
		paused := 0.0
		if info.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(descPaused, prometheus.GaugeValue, paused, q)
	}
}
