package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// Graceful shutdown budget of the role commands: the scheduler and the API get
// shutdownTimeout together, then the worker waits up to workerDrain for the
// sends in flight (asynq puts those still running back on the queue). A
// supervisor must allow stopBudget between SIGTERM and SIGKILL; deploy/ does.
const (
	shutdownTimeout = 30 * time.Second
	workerDrain     = 10 * time.Second
	stopBudget      = shutdownTimeout + workerDrain
)

// healthAddrFlag adds --health-addr to a role command's flags.
func healthAddrFlag(fs *flag.FlagSet) *string {
	return fs.String("health-addr", "",
		"also serve GET /healthz, /readyz (Redis takes a write) and /metrics on this address, e.g. :9090, for probes and Prometheus (off when empty; the api role has them on api.addr too)")
}

// checkHealthAddr reports a --health-addr that is not host:port (an empty
// host listens on every interface), with config's check of api.addr.
func checkHealthAddr(addr string) error {
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		// The example the docs use (CheckHostPort's is api.addr's).
		return fmt.Errorf("--health-addr %q is not host:port, like :9090 (every interface) or 127.0.0.1:9090", addr)
	}
	if err := config.CheckHostPort(addr, true); err != nil {
		return fmt.Errorf("--health-addr %q %w", addr, err)
	}
	return nil
}

// addStopNote appends the shutdown contract to a role command's -h.
func addStopNote(fs *flag.FlagSet) {
	out := fs.Output().(*flagOutput)
	out.tail = func(w io.Writer) {
		fmt.Fprintf(w, "\nSIGINT, SIGTERM or SIGHUP stops it gracefully: no new work, sends in flight finish or go back\n"+
			"to the queue. It stops within %s: allow at least that before a SIGKILL.\n", stopBudget)
	}
}

// healthServer serves liveness, readiness and the process's own metrics on
// --health-addr, so that roles without the HTTP API (worker, scheduler) can be
// probed and scraped: the api role's /metrics carries only its own process's
// counters and the queue gauges, not the sends counted in worker processes.
// In a process with the api role, its /metrics is the api's (UseGatherer).
type healthServer struct {
	log      *slog.Logger
	ready    *tasks.Pinger
	srv      *http.Server
	ln       net.Listener
	serving  atomic.Bool
	stopping atomic.Bool
	// readyLog spaces the lines of failing /readyz probes.
	readyLog api.ReadyLog
	// metrics serves /metrics (UseGatherer).
	metrics atomic.Pointer[http.Handler]
}

// UseGatherer makes /metrics serve g: the api role's (api.Server.Gatherer)
// when it runs in the process, so that --health-addr serves what api.addr
// does, asynq's queue gauges and pagereply_page_paused included.
func (h *healthServer) UseGatherer(g prometheus.Gatherer) {
	var handler http.Handler = promhttp.HandlerFor(g, promhttp.HandlerOpts{})
	h.metrics.Store(&handler)
}

// newHealthServer returns a server for the given Redis client (probed by
// /readyz) and metrics registry (served at /metrics with the Go runtime and
// process collectors); Start runs it.
func newHealthServer(addr string, rdb redis.UniversalClient, reg *prometheus.Registry, logger *slog.Logger) *healthServer {
	h := &healthServer{log: logger.With(slog.String("component", "health")), ready: tasks.NewPinger(rdb, 0)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeHealthJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", h.readyz)
	// The process's Go runtime and resource gauges come along: they are what
	// sizes a worker (memory, CPU, goroutines) when no api role runs beside it.
	runtime := prometheus.NewRegistry()
	runtime.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h.UseGatherer(prometheus.Gatherers{reg, runtime})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { (*h.metrics.Load()).ServeHTTP(w, r) })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeHealthError(w, http.StatusNotFound, "no such route: "+r.Method+" "+r.URL.Path)
	})
	h.srv = &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          log.New(healthErrorLog{h.log}, "", 0),
	}
	return h
}

// Start listens and serves in the background.
func (h *healthServer) Start() error {
	if err := h.Listen(); err != nil {
		return err
	}
	h.Serve()
	return nil
}

// Listen binds the address without serving it yet: a role process binds it
// before any role starts, so that an address in use stops the process
// before a worker takes replies from the queue or a scheduler queues polls,
// and serves it (Serve) once every role runs.
func (h *healthServer) Listen() error {
	ln, err := net.Listen("tcp", h.srv.Addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("--health-addr: listen on %s: %w: another process listens there: stop it, or pass another --health-addr", h.srv.Addr, err)
		}
		return fmt.Errorf("--health-addr: listen on %s: %w", h.srv.Addr, err)
	}
	h.ln = ln
	return nil
}

// Serve serves the address Listen bound, in the background.
func (h *healthServer) Serve() {
	h.serving.Store(true)
	h.log.Info("health listening", slog.String("addr", h.ln.Addr().String()))
	go func() {
		if err := h.srv.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.log.Error("health server stopped", slog.String("error", err.Error()))
		}
	}()
}

// Addr returns the address it listens on, once started.
func (h *healthServer) Addr() string {
	if h.ln == nil {
		return ""
	}
	return h.ln.Addr().String()
}

// Stopping makes /readyz answer 503 from now on, while /healthz still answers
// 200: the process is shutting down, alive but taking no new work.
func (h *healthServer) Stopping() { h.stopping.Store(true) }

// Shutdown stops the server, waiting for the requests in flight until ctx is done.
func (h *healthServer) Shutdown(ctx context.Context) error {
	h.Stopping()
	if h.ln != nil && !h.serving.Load() {
		// Bound but never served (a role failed to start): http.Server
		// knows nothing of the listener.
		_ = h.ln.Close()
	}
	if err := h.srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("health: shutdown: %w", err)
	}
	return nil
}

// readyz answers 200 when Redis takes the probe's write (tasks.Pinger)
// within 2 seconds (tasks.DefaultPingTimeout) and the process is not
// shutting down, else 503 with the reason (tasks.ReadyReason), within those
// 2 seconds whatever Redis does.
func (h *healthServer) readyz(w http.ResponseWriter, r *http.Request) {
	if h.stopping.Load() {
		writeHealthError(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	if err := h.ready.Ping(r.Context()); err != nil {
		reason := tasks.ReadyReason(err)
		h.readyLog.Failed(r.Context(), h.log, reason, err)
		writeHealthError(w, http.StatusServiceUnavailable, reason)
		return
	}
	h.readyLog.Ready(r.Context(), h.log)
	writeHealthJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// writeHealthJSON and writeHealthError answer in the API's shapes:
// {"status":"ok"} and {"error":{"message":"..."}}.
func writeHealthJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeHealthError(w http.ResponseWriter, status int, msg string) {
	writeHealthJSON(w, status, map[string]map[string]string{"error": {"message": msg}})
}

// healthErrorLog sends net/http's server errors to slog.
type healthErrorLog struct{ l *slog.Logger }

func (e healthErrorLog) Write(p []byte) (int, error) {
	e.l.Warn(strings.TrimSpace(string(p)))
	return len(p), nil
}
