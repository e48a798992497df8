// Package api owns pagereply's HTTP API (role api): enqueueing replies and
// reading their state under /v1, Meta's webhook mount, health and readiness,
// Prometheus metrics, the asynq web monitor behind the API's tokens, and the
// authentication that guards them.
//
// Routes:
//
//	POST /v1/replies        enqueue one reply or a batch (bearer token)
//	GET  /v1/replies/{id}   a reply's state (bearer token)
//	GET  /healthz           liveness: 200 while the process serves
//	GET  /readyz            readiness: 200 when Redis takes a write (tasks.Pinger), else 503 (and once stopping)
//	GET  /metrics           Prometheus metrics (pagereply_ and asynq_ queue gauges)
//	GET|POST /webhook       Meta's webhook, when Params.Webhook is set (signature auth)
//	/monitor/               asynqmon (bearer token, basic auth with the token as password, or the /login cookie);
//	                        its API's 500s answer 404 for an unknown queue, 503 while Redis does not answer
//	GET|POST /login         a form that trades an API token for a monitor session cookie
//
// Another method on /v1/replies or /v1/replies/{id} answers 405 with Allow
// once the token is checked (like all of /v1), on /webhook 405 with Allow:
// GET, POST, and on /healthz, /readyz, /metrics, /login and /logout 405 with
// Allow (a GET route also serves HEAD); a path no route has answers 404.
//
// Every error answer has one shape: {"error":{"message":"...","field":"..."}},
// field present when one field of the request is at fault.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/pagereply/pagereply/internal/logspace"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// DefaultMaxBody is the largest request body /v1 accepts when Params.MaxBody is
// zero: room for a batch of MaxBatch replies of full length.
const DefaultMaxBody = 4 << 20

// MaxBatch is the most replies one POST /v1/replies may hold.
const MaxBatch = 500

// ErrNoToken is returned by Start when no API token is configured (none, or
// only empty strings) and Params.Insecure is false.
var ErrNoToken = errors.New("api: no API token configured (set api.tokens, or run with --insecure)")

// ConversationReader reads a Messenger conversation; *graph.Client implements it.
type ConversationReader interface {
	Conversation(ctx context.Context, token, conversationID string) (graph.Conversation, error)
}

// Params configures a Server.
type Params struct {
	// Addr is the address to listen on; if empty, 127.0.0.1:8080.
	Addr string
	// Tokens are the bearer tokens accepted by /v1 and /monitor/; empty
	// strings are ignored.
	Tokens []string
	// Insecure lets the API start with no Tokens: /v1 and /monitor/ are then
	// open to anyone who can reach Addr.
	Insecure bool
	// Enqueuer queues replies (required).
	Enqueuer *tasks.Enqueuer
	// Ledger answers whether a target was sent (required).
	Ledger *tasks.Ledger
	// Inspector reads task states and queue sizes (required).
	Inspector *asynq.Inspector
	// Redis is probed by /readyz (tasks.Pinger: a write); if nil, the
	// ledger's client.
	Redis redis.UniversalClient
	// ReadyTimeout is how long /readyz waits for Redis's answer before it
	// answers 503; if zero, tasks.DefaultPingTimeout (2 s).
	ReadyTimeout time.Duration
	// Pages are the configured Pages: a reply for another Page is refused with
	// 400, and conversation replies read the conversation with the Page's token.
	Pages []config.Page
	// Secrets are the values no reply text may hold (config.Config.Secrets:
	// the app secret, Redis passwords, the webhook verify token...): a text
	// holding one is refused with 400, as it would reach the person it
	// answers, the task payload and the monitor. Tokens and the Pages'
	// access tokens are refused whether or not they are listed here.
	Secrets []string
	// Graph reads conversations for conversation replies; if nil, they are
	// refused with 400.
	Graph ConversationReader
	// Webhook is mounted at /webhook when not nil (it does its own
	// authentication by signature).
	Webhook http.Handler
	// Monitor mounts asynqmon at /monitor/.
	Monitor bool
	// MonitorReadOnly hides the monitor's write actions.
	MonitorReadOnly bool
	// RedisConnOpt is asynqmon's connection (it opens its own pool); required
	// with Monitor.
	RedisConnOpt asynq.RedisConnOpt
	// Metrics are served at /metrics with asynq's queue gauges; if nil, a
	// private set.
	Metrics *metrics.Metrics
	// MaxBody is the largest request body in bytes; if zero, DefaultMaxBody.
	MaxBody int64
	// WriteTimeout bounds how long an answer may take to write, from the
	// request; if zero, DefaultWriteTimeout. POST /v1/replies counts it
	// from when its answer is ready instead: a batch of conversation replies
	// reads Graph for each, at about 2 a second (its items wait for their
	// reads only while it can answer within WriteTimeout of the request:
	// batchBudget).
	WriteTimeout time.Duration
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// Now is the clock; if nil, time.Now.
	Now func() time.Time
}

// Server is the HTTP API. Start or ListenAndServe runs it; Shutdown stops it.
type Server struct {
	p       Params
	log     *slog.Logger
	pages   map[string]*config.Page
	auth    *authenticator
	monitor *asynqmon.HTTPHandler
	handler http.Handler
	srv     *http.Server
	ready   *tasks.Pinger       // nil without Redis
	secrets []string            // no reply text may hold one (Params.Secrets)
	gather  prometheus.Gatherer // served at /metrics (Gatherer)

	stopping atomic.Bool

	// redisAwayLog spaces the "api: enqueue" lines of requests that met
	// Redis away: every request fails alike until it is back.
	redisAwayLog logspace.Line
	// readyLog spaces the lines of failing /readyz probes.
	readyLog ReadyLog
	// unavailableLog and badGatewayLog space the request log's lines of
	// 503 and 502 answers (logRequests).
	unavailableLog, badGatewayLog logspace.Line
	// monitorAwayLog spaces the monitor's "redis does not answer" lines.
	monitorAwayLog logspace.Line
	// monitorErrorLog spaces the request log's lines of asynqmon's 500s.
	monitorErrorLog logspace.Line
	// convReadLog spaces the handler's lines of Graph failing a Page's
	// conversation reads (502).
	convReadLog pageLog

	mu     sync.Mutex
	ln     net.Listener
	served chan error
}

// New returns a Server for p. It opens no connection until Start.
func New(p Params) *Server {
	if p.Addr == "" {
		p.Addr = "127.0.0.1:8080"
	}
	if p.MaxBody <= 0 {
		p.MaxBody = DefaultMaxBody
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Metrics == nil {
		p.Metrics = metrics.New()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Redis == nil && p.Ledger != nil {
		p.Redis = p.Ledger.Client()
	}
	s := &Server{p: p, log: p.Logger.With(slog.String("component", "api")), pages: map[string]*config.Page{}}
	for i := range p.Pages {
		s.pages[p.Pages[i].ID] = &p.Pages[i]
		s.secrets = append(s.secrets, p.Pages[i].AccessToken)
	}
	s.secrets = append(append(s.secrets, p.Tokens...), p.Secrets...)
	var revoked sessionStore
	if p.Ledger != nil {
		revoked = p.Ledger
	}
	s.auth = newAuthenticator(p.Tokens, p.Now, revoked)
	if p.Redis != nil {
		s.ready = tasks.NewPinger(p.Redis, p.ReadyTimeout)
	}
	queues := prometheus.NewRegistry()
	if p.Inspector != nil {
		queues.MustRegister(newQueueCollector(p.Inspector, s.log, p.Now))
	}
	pages := make([]string, 0, len(p.Pages))
	for _, pg := range p.Pages {
		pages = append(pages, pg.ID)
	}
	queues.MustRegister(&pauseCollector{ledger: p.Ledger, pages: pages, log: s.log, now: p.Now})
	// The process's Go runtime and resource gauges, as on --health-addr:
	// they are what sizes an api pod, whose /metrics is this one.
	queues.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.gather = prometheus.Gatherers{p.Metrics.Registry, queues}
	return s
}

// Gatherer returns what /metrics serves: Params.Metrics, asynq's queue
// gauges, pagereply_page_paused and the process's runtime gauges. A
// --health-addr beside the API serves the same (each scrape reads the queues
// and the pauses from Redis, as on api.addr).
func (s *Server) Gatherer() prometheus.Gatherer { return s.gather }

// now is the server's clock (Params.Now), also for a Server a test builds
// without New.
func (s *Server) now() time.Time {
	if s.p.Now == nil {
		return time.Now()
	}
	return s.p.Now()
}

// Handler returns the API's routes with logging, for tests and for servers
// built elsewhere. It mounts the monitor (opening its Redis pool) on first use.
func (s *Server) Handler() http.Handler {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handler == nil {
		s.handler = s.routes()
	}
	return s.handler
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	v1 := s.auth.bearer
	mux.Handle("POST /v1/replies", v1(http.HandlerFunc(s.postReplies)))
	mux.Handle("GET /v1/replies/{id}", v1(http.HandlerFunc(s.getReply)))
	// The same paths with any other method: 405 with Allow, not the
	// catch-all's 404. Behind the token like the rest of /v1, so a caller
	// without one learns nothing of the routes (401 first).
	mux.Handle("/v1/replies", v1(methodNotAllowed(http.MethodPost)))
	mux.Handle("/v1/replies/{id}", v1(methodNotAllowed(http.MethodGet, http.MethodHead)))
	mux.Handle("/v1/", v1(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such route: "+r.Method+" "+r.URL.Path, "")
	})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	// Here too another method answers 405, not the catch-all's 404. Go's mux
	// serves HEAD with a GET pattern, so Allow names it.
	getOnly := methodNotAllowed(http.MethodGet, http.MethodHead)
	mux.Handle("/healthz", getOnly)
	mux.Handle("/readyz", getOnly)

	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{ErrorLog: slogErrorLog{s.log}}))
	mux.Handle("/metrics", getOnly)

	if s.p.Webhook != nil {
		mux.Handle("/webhook", s.p.Webhook)
	}
	if s.p.Monitor && s.p.RedisConnOpt != nil {
		s.monitor = asynqmon.New(asynqmon.Options{
			RootPath:     "/monitor",
			RedisConnOpt: s.p.RedisConnOpt,
			ReadOnly:     s.p.MonitorReadOnly,
		})
		// The monitor's write actions (archive, delete, run) and the sign-in
		// forms refuse requests another site makes the browser send (CSRF):
		// basic-auth credentials, unlike the session cookie, go with them.
		csrf := http.NewCrossOriginProtection()
		mon := s.monitorErrors(s.monitor)
		if s.p.MonitorReadOnly {
			mon = readOnlyMonitor(mon)
		}
		mux.Handle("/monitor/", noFraming(csrf.Handler(s.auth.browser(mon))))
		mux.Handle("GET /monitor", http.RedirectHandler("/monitor/", http.StatusMovedPermanently))
		mux.Handle("GET /login", noFraming(http.HandlerFunc(s.auth.loginForm)))
		mux.Handle("POST /login", csrf.Handler(http.HandlerFunc(s.auth.login)))
		mux.Handle("POST /logout", csrf.Handler(http.HandlerFunc(s.auth.logout)))
		mux.Handle("/login", methodNotAllowed(http.MethodGet, http.MethodHead, http.MethodPost))
		mux.Handle("/logout", methodNotAllowed(http.MethodPost))
		// Another method on /monitor is left to the mux, which redirects it
		// to /monitor/ (307): the monitor takes every method there.
	}
	hasMonitor := s.monitor != nil
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && hasMonitor {
			http.Redirect(w, r, "/monitor/", http.StatusFound)
			return
		}
		writeError(w, http.StatusNotFound, "no such route: "+r.Method+" "+r.URL.Path, "")
	})
	return s.logRequests(recoverPanics(s.log, s.secrets, mux))
}

// readOnlyMonitor answers a write to a read-only monitor's API (archive,
// delete, run, pause a queue) with 405 and why, where asynqmon answers some
// with an empty 405 that says nothing.
func readOnlyMonitor(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if strings.HasPrefix(r.URL.Path, "/monitor/api/") {
				// GET only: asynqmon's API answers HEAD with a 405 of its own.
				w.Header().Set("Allow", "GET")
				writeError(w, http.StatusMethodNotAllowed, "the monitor is read-only: set api.monitor_read_only: false to archive, delete or run tasks from it", "")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// methodNotAllowed answers 405 with an Allow header listing allow, for a
// route that exists with other methods.
func methodNotAllowed(allow ...string) http.Handler {
	list := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", list)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+r.Pattern+"; use "+list, "")
	})
}

// readyz answers 200 when Redis takes the probe's write (tasks.Pinger)
// within Params.ReadyTimeout and the server is not stopping, else 503 with
// the reason (tasks.ReadyReason: not answering, or refusing writes, and
// why), within that time whatever Redis does.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.stopping.Load() {
		writeError(w, http.StatusServiceUnavailable, "shutting down", "")
		return
	}
	if s.ready == nil {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	if err := s.ready.Ping(r.Context()); err != nil {
		reason := tasks.ReadyReason(err)
		s.readyLog.Failed(r.Context(), s.log, reason, err)
		writeError(w, http.StatusServiceUnavailable, reason, "")
		return
	}
	s.readyLog.Ready(r.Context(), s.log)
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Start listens on Params.Addr and serves in the background. It refuses to
// start without a token unless Params.Insecure.
func (s *Server) Start() error {
	// Empty strings are no token (the authenticator skips them): a list of
	// them would leave /v1 and the monitor open as --insecure does.
	if s.auth.open() && !s.p.Insecure {
		return ErrNoToken
	}
	if s.p.Enqueuer == nil || s.p.Ledger == nil || s.p.Inspector == nil {
		return errors.New("api: Enqueuer, Ledger and Inspector are required")
	}
	ln, err := net.Listen("tcp", s.p.Addr)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", s.p.Addr, err)
	}
	h := s.Handler()
	s.mu.Lock()
	s.ln = ln
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		// A client that never reads its answer (of /metrics, say, which
		// needs no credentials) would hold its connection and handler for
		// as long as TCP keeps it. POST /v1/replies, whose batches can take
		// longer than that to answer, sets its own (writeBudget).
		WriteTimeout: s.writeTimeout(),
		ErrorLog:     slogErrorLog{s.log}.logger(),
	}
	s.served = make(chan error, 1)
	srv, served := s.srv, s.served
	s.mu.Unlock()
	if s.auth.open() {
		s.log.Warn("api: no token configured: /v1 and /monitor/ are open (--insecure)")
	}
	s.log.Info("api listening", slog.String("addr", ln.Addr().String()), slog.Bool("monitor", s.monitor != nil),
		slog.Bool("webhook", s.p.Webhook != nil))
	go func() { served <- srv.Serve(ln) }()
	return nil
}

// Addr returns the address the server listens on, once started ("" before).
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Done returns a channel that receives the serving error (nil after Shutdown)
// when the server stops; nil before Start.
func (s *Server) Done() <-chan error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served
}

// ListenAndServe starts the server and serves until ctx is done, then shuts it
// down, waiting up to 10 seconds for requests in flight.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	select {
	case err := <-s.Done():
		s.closeMonitor()
		return fmt.Errorf("api: serving: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Shutdown(sctx)
}

// Stopping makes /readyz answer 503 from now on while everything else is
// still served: the process is stopping, and probes and load balancers should
// send it nothing new. Shutdown calls it; a process that stops other work
// first calls it at the start of its stop.
func (s *Server) Stopping() { s.stopping.Store(true) }

// Shutdown makes /readyz answer 503, stops accepting connections, waits until
// the requests in flight are answered or ctx is done, and closes the
// monitor's Redis pool.
func (s *Server) Shutdown(ctx context.Context) error {
	s.Stopping()
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	var err error
	if srv != nil {
		if err = srv.Shutdown(ctx); err != nil {
			err = fmt.Errorf("api: shutdown: %w", err)
		}
	}
	s.closeMonitor()
	return err
}

func (s *Server) closeMonitor() {
	s.mu.Lock()
	m := s.monitor
	s.monitor = nil
	s.mu.Unlock()
	if m != nil {
		if err := m.Close(); err != nil {
			s.log.Warn("api: closing the monitor", slog.String("error", err.Error()))
		}
	}
}

// noFraming keeps other sites from showing the monitor and the sign-in form
// in a frame of theirs, where a click meant for their page would land on a
// monitor button (archive, delete, run, when monitor_read_only is off):
// CSRF protection does not cover that, since the request is the monitor's
// own.
func noFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// DefaultWriteTimeout is Params.WriteTimeout's default.
const DefaultWriteTimeout = 2 * time.Minute

func (s *Server) writeTimeout() time.Duration {
	if s.p.WriteTimeout > 0 {
		return s.p.WriteTimeout
	}
	return DefaultWriteTimeout
}

// writeBudget gives an answer its write timeout from when the handler starts
// writing it rather than from the request: the server's would cut off a
// batch that took longer to handle (each conversation reply reads Graph, at
// about 2 a second), its replies queued and the caller told nothing.
type writeBudget struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	started bool
}

// withWriteBudget lifts w's write deadline until the answer is written.
func (s *Server) withWriteBudget(w http.ResponseWriter) http.ResponseWriter {
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil {
		return w // not supported: the server's timeout stays
	}
	return &writeBudget{ResponseWriter: w, rc: rc, timeout: s.writeTimeout()}
}

func (b *writeBudget) start() {
	if !b.started {
		b.started = true
		_ = b.rc.SetWriteDeadline(time.Now().Add(b.timeout))
	}
}

func (b *writeBudget) WriteHeader(code int) {
	b.start()
	b.ResponseWriter.WriteHeader(code)
}

func (b *writeBudget) Write(p []byte) (int, error) {
	b.start()
	return b.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (b *writeBudget) Unwrap() http.ResponseWriter { return b.ResponseWriter }
