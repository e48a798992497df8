// Package metrics owns pagereply's Prometheus collectors: one set, registered
// once per process, shared by the worker, scheduler and api roles.
package metrics

import (
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pagereply/pagereply/graph"
)

// Metrics holds every pagereply_ collector. Labels never carry a secret: Page ids,
// classes, reasons, endpoints and codes only.
type Metrics struct {
	Registry *prometheus.Registry

	RepliesSent       *prometheus.CounterVec   // page, source
	RepliesFailed     *prometheus.CounterVec   // page, class
	DuplicatesSkipped *prometheus.CounterVec   // page, where (ledger, taskid, graph)
	GraphCalls        *prometheus.CounterVec   // endpoint, code
	GraphDuration     *prometheus.HistogramVec // endpoint
	PagePauses        *prometheus.CounterVec   // page, reason
	RateLimited       *prometheus.CounterVec   // page
	PersonGapWaits    *prometheus.CounterVec   // page
	PollDuration      *prometheus.HistogramVec // page
	CommentsSeen      *prometheus.CounterVec   // page
	PollSkipped       *prometheus.CounterVec   // page, reason
	Enqueued          *prometheus.CounterVec   // page, source, outcome
	SendLatency       *prometheus.HistogramVec // page: enqueue to send
	PollsScheduled    *prometheus.CounterVec   // page, outcome: the scheduler's slots
	WebhookDeliveries *prometheus.CounterVec   // outcome: POST /webhook, one per delivery

	// graphCodes are the values of GraphCalls' code label given out so
	// far, at most maxGraphCodes: the code is what an answer's body says.
	graphCodesMu sync.RWMutex
	graphCodes   map[string]struct{}
}

// maxGraphCodes bounds the distinct values of pagereply_graph_calls_total's
// code label in one process, beside 0, network and malformed: the code is
// whatever the answer's body says, and an upstream answering ever new codes
// (a proxy, a Graph misbehaving) would add series for the life of the
// process. Past it, a new code is counted under "other". Graph's codes that
// a Page's app meets are some dozens.
const maxGraphCodes = 100

// graphCodeOther is the code label of the codes past maxGraphCodes.
const graphCodeOther = "other"

// graphCode returns code as GraphCalls' label, or graphCodeOther when
// maxGraphCodes others were given out already.
func (m *Metrics) graphCode(code string) string {
	m.graphCodesMu.RLock()
	_, ok := m.graphCodes[code]
	full := len(m.graphCodes) >= maxGraphCodes
	m.graphCodesMu.RUnlock()
	if ok {
		return code
	}
	if full {
		return graphCodeOther
	}
	m.graphCodesMu.Lock()
	defer m.graphCodesMu.Unlock()
	if _, ok := m.graphCodes[code]; ok {
		return code
	}
	if len(m.graphCodes) >= maxGraphCodes {
		return graphCodeOther
	}
	if m.graphCodes == nil {
		m.graphCodes = map[string]struct{}{}
	}
	m.graphCodes[code] = struct{}{}
	return code
}

// Options shape the collectors; the zero value is the default.
type Options struct {
	// NoPageBuckets gives the per-Page histograms (PollDuration,
	// SendLatency) only their +Inf bucket, _sum and _count: config
	// metrics.page_buckets: false. At 5,000 Pages their buckets are 260,000
	// of /metrics' 430,000 series.
	NoPageBuckets bool
}

// New returns collectors registered on a new registry.
func New() *Metrics { return NewWith(Options{}) }

// NewWith is New shaped by o.
func NewWith(o Options) *Metrics {
	pollBuckets, sendBuckets := prometheus.ExponentialBuckets(0.01, 2, 24), prometheus.ExponentialBuckets(0.005, 2, 28)
	if o.NoPageBuckets {
		pollBuckets, sendBuckets = []float64{math.Inf(1)}, []float64{math.Inf(1)}
	}
	m := &Metrics{Registry: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.Registry.MustRegister(c) }
	m.RepliesSent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_replies_sent_total", Help: "Private replies sent, by Page and source."}, []string{"page", "source"})
	m.RepliesFailed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_replies_failed_total", Help: "Reply attempts that failed, by Page and Graph error class."}, []string{"page", "class"})
	m.DuplicatesSkipped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_duplicates_skipped_total", Help: "Replies not sent because the target already had one, by where it was caught."}, []string{"page", "where"})
	m.GraphCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_graph_calls_total", Help: "Graph API calls by endpoint and Graph error code (0: success; network: no answer; http_<status>: an answer not in Graph's error shape, such as a proxy's HTML page; malformed: a 2xx answer that could not be read; other: codes past the first 100 of the process)."}, []string{"endpoint", "code"})
	m.GraphDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pagereply_graph_call_seconds", Help: "Graph API call duration.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"endpoint"})
	m.PagePauses = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_page_pauses_total", Help: "Times a Page was paused, by reason (throttled, page_broken, graph_down, policy_block)."}, []string{"page", "reason"})
	m.RateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_rate_limited_total", Help: "Reply tasks put back because the Page's rate was used up."}, []string{"page"})
	m.PersonGapWaits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_person_gap_waits_total", Help: "Reply tasks put back to keep a Page's replies to one person person_gap apart."}, []string{"page"})
	m.PollDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pagereply_poll_seconds", Help: "Duration of one Page poll (polls that did not run, the Page paused, are not observed).", Buckets: pollBuckets}, []string{"page"})
	m.CommentsSeen = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_comments_seen_total", Help: "Items (comments, visitors' posts, conversation messages) examined by polls and by the workers' webhook items, by Page."}, []string{"page"})
	m.PollSkipped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_skipped_total", Help: "Items not replied to, by reason."}, []string{"page", "reason"})
	m.Enqueued = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_enqueued_total", Help: "Reply enqueue calls by Page, source (poll; webhook: a worker's webhook item; api; webhook_item: the api queuing a delivery's item for a worker) and outcome (enqueued; queued, sent or failed: the target already had a task, a sent reply or one failed for good)."}, []string{"page", "source", "outcome"})
	m.SendLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pagereply_enqueue_to_send_seconds", Help: "Time from enqueue to a sent reply.", Buckets: sendBuckets}, []string{"page"})
	m.PollsScheduled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_polls_scheduled_total", Help: "The scheduler's poll slots by outcome: enqueued, taken (another scheduler, or an earlier run, enqueued the slot), page_broken (not polled), error."}, []string{"page", "outcome"})
	m.WebhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pagereply_webhook_deliveries_total", Help: "POST /webhook deliveries by outcome: accepted (a change queued, or queued already by an earlier delivery), ignored (answered 200 with nothing to queue: another object, or only changes that cannot lead to a reply), bad_signature (401: missing or wrong X-Hub-Signature-256, or no graph.app_secret), bad_body (400: not read, not JSON, or not a Meta delivery), too_large (413), error (503: not queued)."}, []string{"outcome"})
	for _, c := range []prometheus.Collector{m.RepliesSent, m.RepliesFailed, m.DuplicatesSkipped, m.GraphCalls, m.GraphDuration, m.PagePauses, m.RateLimited, m.PersonGapWaits, m.PollDuration, m.CommentsSeen, m.PollSkipped, m.Enqueued, m.SendLatency, m.PollsScheduled, m.WebhookDeliveries} {
		f(c)
	}
	return m
}

// Roles are the roles one process runs, for InitPagesFor: a process makes
// at 0 only the series its own roles write.
type Roles struct{ Scheduler, Worker, API bool }

// AllRoles is a process that runs every role (serve).
func AllRoles() Roles { return Roles{Scheduler: true, Worker: true, API: true} }

// InitPages is InitPagesFor a process that runs every role (serve).
func (m *Metrics) InitPages(pages []string) { m.InitPagesFor(pages, AllRoles()) }

// InitPagesFor makes the per-Page series an alert reads exist at 0 for every
// configured Page, before anything happens to it: a counter first written at
// 1 has no earlier sample, so increase() and rate() over it stay 0, and an
// alert on the first failure, pause or throttling would never fire. It makes
// those the process's roles write, with the label values they write, and no
// others: at 5,000 Pages the 100,000 series of every role cost about 48 MB of
// heap, which a scheduler (it writes none of them) or an api process (its
// pauses and duplicates only) need not pay.
//
//   - worker: sends by source, failures by class, pauses by reason,
//     duplicates (ledger, graph, person, answered), rate and person gap
//     waits, comments seen (polls and webhook items);
//   - api: pauses (a conversation reply's Graph read finding the Page
//     throttled, broken or blocked, or answered 503 with Retry-After:
//     graph_down), duplicates (ledger, taskid, answered);
//   - scheduler: none (its pagereply_polls_scheduled_total and
//     pagereply_skipped_total{reason="page_broken"} start at their first slot).
func (m *Metrics) InitPagesFor(pages []string, r Roles) {
	var sources, failed, pauses, duplicates []string
	var perPage []*prometheus.CounterVec
	add := func(to *[]string, values ...string) {
		for _, v := range values {
			if !slices.Contains(*to, v) {
				*to = append(*to, v)
			}
		}
	}
	if r.Worker {
		sources = []string{"poll", "webhook", "api"}
		failed = []string{
			graph.ClassTransient.String(), graph.ClassPermanent.String(), graph.ClassPageBroken.String(),
			"unsettled", "too_old",
		}
		add(&pauses, "throttled", "page_broken", "graph_down", "policy_block")
		add(&duplicates, "ledger", "graph", "person", "answered")
		perPage = []*prometheus.CounterVec{m.RateLimited, m.PersonGapWaits, m.CommentsSeen}
	}
	if r.API {
		add(&pauses, "throttled", "page_broken", "graph_down", "policy_block")
		add(&duplicates, "ledger", "taskid", "answered")
	}
	for _, p := range pages {
		for _, s := range sources {
			m.RepliesSent.WithLabelValues(p, s)
		}
		for _, c := range failed {
			m.RepliesFailed.WithLabelValues(p, c)
		}
		for _, r := range pauses {
			m.PagePauses.WithLabelValues(p, r)
		}
		for _, w := range duplicates {
			m.DuplicatesSkipped.WithLabelValues(p, w)
		}
		for _, c := range perPage {
			c.WithLabelValues(p)
		}
	}
}

// ObserveGraph records one Graph call; use it as graph.Config.Observer (or from one).
func (m *Metrics) ObserveGraph(ci graph.CallInfo) {
	if m == nil {
		return
	}
	code := strconv.Itoa(ci.Code)
	switch {
	case ci.Code != 0:
		code = m.graphCode(code)
	case ci.HTTPStatus == 0:
		code = "network"
	case ci.HTTPStatus < 200 || ci.HTTPStatus > 299:
		// Not Graph's error envelope (a proxy's or load balancer's page):
		// under its HTTP status, not with the successes.
		code = m.graphCode("http_" + strconv.Itoa(ci.HTTPStatus))
	case ci.Failed:
		// A 2xx answer that could not be read: its outcome is unknown.
		code = "malformed"
	}
	m.GraphCalls.WithLabelValues(ci.Endpoint, code).Inc()
	m.GraphDuration.WithLabelValues(ci.Endpoint).Observe(ci.Duration.Seconds())
}
