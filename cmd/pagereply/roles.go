package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/scheduler"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// Role names for --roles.
const (
	roleScheduler = "scheduler"
	roleWorker    = "worker"
	roleAPI       = "api"
)

// roleSet is the roles one process runs.
type roleSet struct{ scheduler, worker, api bool }

func allRoles() roleSet { return roleSet{scheduler: true, worker: true, api: true} }

func (r roleSet) String() string {
	var s []string
	if r.scheduler {
		s = append(s, roleScheduler)
	}
	if r.worker {
		s = append(s, roleWorker)
	}
	if r.api {
		s = append(s, roleAPI)
	}
	return strings.Join(s, ",")
}

// parseRoles parses "scheduler,worker,api" (any non-empty mix).
func parseRoles(s string) (roleSet, error) {
	var r roleSet
	for _, name := range strings.Split(s, ",") {
		switch strings.TrimSpace(name) {
		case roleScheduler:
			r.scheduler = true
		case roleWorker:
			r.worker = true
		case roleAPI:
			r.api = true
		case "":
		default:
			return r, fmt.Errorf("--roles: unknown role %q (roles: scheduler, worker, api)", strings.TrimSpace(name))
		}
	}
	if !r.scheduler && !r.worker && !r.api {
		return r, errors.New("--roles: name at least one of scheduler, worker, api")
	}
	return r, nil
}

// roleOptions are what the commands add to the config.
type roleOptions struct {
	// insecure lets the api role start without api.tokens.
	insecure bool
	// apiAddr overrides api.addr when set.
	apiAddr string
	// workerShutdown overrides the worker's wait for in-flight tasks.
	workerShutdown time.Duration
	// healthAddr, when set, serves /healthz, /readyz and /metrics there.
	healthAddr string
}

// running is the roles of one process, started.
type running struct {
	a        *app
	log      *slog.Logger
	worker   *worker.Worker
	api      *api.Server
	inspect  *asynq.Inspector
	stopSchd func(context.Context)
	health   *healthServer
}

// checkRoles reports a configuration that cannot run roles, before anything
// starts, as a usage error naming the key or flag to fix.
func checkRoles(a *app, roles roleSet, opts roleOptions) error {
	if roles.api && len(a.cfg.API.Tokens) == 0 && !opts.insecure {
		return errors.New("api.tokens is empty: the API refuses to start without a bearer token; add one (e.g. \"${PAGEREPLY_API_TOKEN}\") or pass --insecure")
	}
	for i, t := range a.cfg.API.Tokens {
		if roles.api && len(t) < 16 {
			// Which one, by its place in the list: never its value.
			return fmt.Errorf("api.tokens[%d] (token %d of %d) is shorter than 16 characters; use a long random one (e.g. openssl rand -hex 32)",
				i, i+1, len(a.cfg.API.Tokens))
		}
	}
	return nil
}

// checkHealthAddrOnAPI reports a --health-addr on the api role's own
// port, a usage mistake: the health server would take the port first, and
// the API fail to bind it, said as another process's.
func checkHealthAddrOnAPI(cfg *config.Config, roles roleSet, opts roleOptions) error {
	if !roles.api || opts.healthAddr == "" {
		return nil
	}
	apiAddr := cfg.API.Addr
	if opts.apiAddr != "" {
		apiAddr = opts.apiAddr
	}
	if sameListenPort(opts.healthAddr, apiAddr) {
		return fmt.Errorf("--health-addr %s is on api.addr's port (%s): the api role serves /healthz, /readyz and /metrics there already; leave out --health-addr, or give it another port", opts.healthAddr, apiAddr)
	}
	return nil
}

// sameListenPort reports whether two listening addresses would take the
// same port: the same port (not 0, a free one) on the same host, or on any
// host when either listens on every interface.
func sameListenPort(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb || pa == "0" {
		return false
	}
	every := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || every(ha) || every(hb)
}

// startRoles starts the roles: the API first (it can fail on its address),
// then the worker, then the scheduler.
func startRoles(ctx context.Context, a *app, roles roleSet, opts roleOptions) (*running, error) {
	r := &running{a: a, log: a.log}
	initMetrics(a, roles)
	if opts.healthAddr != "" {
		// Bound first, so that an address in use stops the process before a
		// role does any work; served last (below).
		r.health = newHealthServer(opts.healthAddr, a.rdb, a.metrics.Registry, a.log)
		if err := r.health.Listen(); err != nil {
			return nil, err
		}
	}
	if roles.api {
		r.inspect = asynq.NewInspector(a.redis)
		addr := a.cfg.API.Addr
		if opts.apiAddr != "" {
			addr = opts.apiAddr
		}
		var webhook http.Handler // /webhook exists only with webhook.verify_token
		if a.cfg.Webhook.VerifyToken != "" {
			// Hides, unhides and removals reach a replica before Meta is answered, as
			// a worker's claim does before its send (tasks.ReplicaGuard).
			var hidden api.HiddenMarks = a.ledger
			if g := tasks.NewReplicaGuard(a.ledger, tasks.ReplicaGuardOptions{Replicas: tasks.ReplicasToWait(a.cfg.Redis)}); g != nil {
				hidden = g
			}
			webhook = api.NewWebhook(api.WebhookParams{
				VerifyToken: a.cfg.Webhook.VerifyToken, AppSecret: a.cfg.Graph.AppSecret, Intake: a.enq,
				Hidden: hidden, Pages: a.cfg.Pages, Logger: a.log, Metrics: a.metrics, Secrets: a.cfg.Secrets(),
			})
		}
		r.api = api.New(api.Params{
			Addr:            addr,
			Tokens:          a.cfg.API.Tokens,
			Insecure:        opts.insecure,
			Enqueuer:        a.enq,
			Ledger:          a.ledger,
			Inspector:       r.inspect,
			Redis:           a.rdb,
			Pages:           a.cfg.Pages,
			Secrets:         a.cfg.Secrets(),
			Graph:           a.graph,
			Webhook:         webhook,
			Monitor:         boolOr(a.cfg.API.Monitor, true),
			MonitorReadOnly: boolOr(a.cfg.API.MonitorReadOnly, true),
			RedisConnOpt:    a.redis,
			Metrics:         a.metrics,
			Logger:          a.log,
		})
		if err := r.api.Start(); err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				err = fmt.Errorf("%w: another process listens there (a demo or another pagereply still running?): stop it, or set api.addr to a free address", err)
			}
			_ = r.inspect.Close()
			if r.health != nil {
				_ = r.health.Shutdown(context.Background())
			}
			return nil, err
		}
		if r.health != nil {
			// The same /metrics as api.addr: the queue and pause gauges
			// are the api role's.
			r.health.UseGatherer(r.api.Gatherer())
		}
	}
	if roles.worker {
		r.worker = worker.New(worker.Params{
			Redis:           a.redis,
			Ledger:          a.ledger,
			Enqueuer:        a.enq,
			Graph:           a.graph,
			Pages:           a.cfg.Pages,
			Concurrency:     a.cfg.Worker.Concurrency,
			MaxRetry:        a.cfg.Worker.MaxRetry,
			GraphTimeout:    a.cfg.Graph.Timeout,
			GraphBaseURL:    a.cfg.Graph.BaseURL,
			ShutdownTimeout: opts.workerShutdown,
			Logger:          a.log,
			Metrics:         a.metrics,
			Poll: worker.NewPollHandler(worker.PollParams{
				Graph: a.graph, Ledger: a.ledger, Enqueuer: a.enq, Pages: a.cfg.Pages,
				Metrics: a.metrics, Logger: a.log,
			}),
			ClaimReplicas: tasks.ReplicasToWait(a.cfg.Redis),
		})
		if err := r.worker.Start(); err != nil {
			r.shutdown(context.Background())
			return nil, err
		}
	}
	if roles.scheduler {
		for _, id := range textlessPages(a.cfg.Pages) {
			r.log.Warn("page has no rules and no default_text: its polls and webhook deliveries queue no replies (the API still can)",
				slog.String("page_id", id))
		}
		sc, err := scheduler.New(scheduler.Params{
			Redis: a.redis, Pages: a.cfg.Pages, Ledger: a.ledger, Logger: a.log, Metrics: a.metrics,
			PollAtStart: true,
		})
		if err == nil {
			err = sc.Start()
		}
		if err != nil {
			r.shutdown(context.Background())
			return nil, err
		}
		r.stopSchd = func(ctx context.Context) {
			if err := sc.Shutdown(ctx); err != nil {
				r.log.Warn("scheduler shutdown", slog.String("error", err.Error()))
			}
		}
	}
	if r.health != nil {
		// Served last, so that ready means every role is running.
		r.health.Serve()
	}
	running := []any{slog.String("roles", roles.String()), slog.Int("pages", len(a.cfg.Pages)),
		slog.String("redis", a.cfg.Redis.Describe())}
	if a.redisAway.Load() {
		// Started without Redis (checkRedis's warning): running, but
		// nothing is polled, queued or sent until it answers.
		running = append(running, slog.String("redis_state", "not answering yet: nothing is polled, queued or sent until it does (\"Redis answers\" follows)"))
	}
	a.log.Info("pagereply running", running...)
	go checkClock(ctx, a.rdb, a.log)
	return r, nil
}

// initMetrics makes at 0 the per-Page series the process's roles write
// (metrics.InitPagesFor), before any of them starts: a scheduler or an api
// process does not carry, and serve on /metrics, the worker's 19 series of
// each Page (about 48 MB of heap at 5,000 Pages). Commands that serve no
// /metrics (status, enqueue, resume, poll) make none.
func initMetrics(a *app, roles roleSet) {
	pages := make([]string, len(a.cfg.Pages))
	for i, p := range a.cfg.Pages {
		pages[i] = p.ID
	}
	a.metrics.InitPagesFor(pages, metrics.Roles{Scheduler: roles.scheduler, Worker: roles.worker, API: roles.api})
}

// apiDone returns a channel that reports the API's serving error, or nil (a
// channel that never fires) without the api role.
func (r *running) apiDone() <-chan error {
	if r.api == nil {
		return nil
	}
	return r.api.Done()
}

// shutdown turns every /readyz to 503 at once, then stops the scheduler (no
// new polls), then the API (no new replies; requests in flight are answered),
// then the worker: in-flight sends finish or go back to the queue. Nothing is
// lost.
func (r *running) shutdown(ctx context.Context) {
	if r.health != nil {
		r.health.Stopping()
	}
	if r.api != nil {
		r.api.Stopping()
	}
	if r.stopSchd != nil {
		r.stopSchd(ctx)
	}
	if r.api != nil {
		if err := r.api.Shutdown(ctx); err != nil {
			r.log.Warn("api shutdown", slog.String("error", err.Error()))
		}
	}
	if r.inspect != nil {
		_ = r.inspect.Close()
	}
	if r.worker != nil {
		r.worker.Shutdown(ctx)
	}
	if r.health != nil {
		// Last, so that liveness holds while the roles drain.
		if err := r.health.Shutdown(ctx); err != nil {
			r.log.Warn("health shutdown", slog.String("error", err.Error()))
		}
	}
}

// runRoles runs roles until ctx is done (SIGINT or SIGTERM) or the API fails,
// then shuts down gracefully.
func runRoles(ctx context.Context, env *cmdEnv, name string, a *app, roles roleSet, opts roleOptions) int {
	if err := checkRoles(a, roles, opts); err != nil {
		fmt.Fprintf(env.stderr, "pagereply %s: %v\n", name, err)
		return exitUsage
	}
	r, err := startRoles(ctx, a, roles, opts)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply %s: %v\n", name, err)
		if errors.Is(err, api.ErrNoToken) {
			return exitUsage
		}
		return exitError
	}
	code := exitOK
	select {
	case <-ctx.Done():
		// The cause names the signal (notifyStop's context): a stop by
		// SIGHUP (a closed terminal or SSH session) reads otherwise as
		// one by SIGTERM.
		a.log.Info("shutting down", slog.String("roles", roles.String()), slog.String("why", context.Cause(ctx).Error()))
	case err := <-r.apiDone():
		fmt.Fprintf(env.stderr, "pagereply %s: api stopped: %v\n", name, err)
		code = exitError
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	r.shutdown(sctx)
	a.log.Info("stopped", slog.String("roles", roles.String()))
	return code
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

// textlessPages returns the Pages with neither rules nor a default_text: no
// comment, post or message found by a poll or the webhook gets a reply
// there, which a config left to its defaults does without a word.
func textlessPages(pages []config.Page) []string {
	var out []string
	for _, p := range pages {
		if len(p.Rules) == 0 && strings.TrimSpace(p.DefaultText) == "" {
			out = append(out, p.ID)
		}
	}
	return out
}

// clockSkewWarn is how far a host's clock may be off Redis's before
// checkClock warns: the poll takes a post read less than a minute after its
// last comment for changed (worker.unchangedAfter), and a reply window's edge
// moves by the host's error.
const clockSkewWarn = 5 * time.Second

// checkClock warns when this host's clock is more than clockSkewWarn off
// Redis's. pagereply's own records are all timed on Redis's clock, but the
// reply windows (max_age, Messenger's 24 hours) and the poll's read marks
// compare this host's clock with Graph's times: a host minutes ahead skips
// comments near the window's edge and can leave a comment to the next full
// read; one behind sends replies Graph refuses as past its window. Redis
// unreachable is left to the roles to report.
func checkClock(ctx context.Context, rdb redis.UniversalClient, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	off, err := tasks.ClockOffset(ctx, rdb)
	if err != nil {
		log.Debug("clock check skipped", slog.String("error", err.Error()))
		return
	}
	if off > clockSkewWarn || off < -clockSkewWarn {
		dir := "ahead of"
		if off < 0 {
			dir, off = "behind", -off
		}
		log.Warn("this host's clock is "+off.Round(time.Second).String()+" "+dir+" Redis's: reply windows and the poll's read marks are measured on this host's clock against Graph's times; run NTP on every host",
			slog.Duration("offset", off))
	}
}
