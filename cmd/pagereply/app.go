package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// app is what every role shares, built from one config: Redis, the ledger, the
// enqueuer, the Graph client, metrics and the logger. Close releases it.
type app struct {
	cfg     *config.Config
	log     *slog.Logger
	redis   asynq.RedisConnOpt
	rdb     redis.UniversalClient
	ledger  *tasks.Ledger
	client  *asynq.Client
	enq     *tasks.Enqueuer
	graph   *graph.Client
	metrics *metrics.Metrics
	// redisAway is set while Redis has not answered since the start
	// (checkRedis's warning), until logRedisBack sees it answer: the
	// "pagereply running" line says so, else it reads as a healthy start.
	redisAway atomic.Bool
}

// configPath returns -c, else PAGEREPLY_CONFIG.
func configPath(env *cmdEnv, flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return env.getenv("PAGEREPLY_CONFIG")
}

// loadConfig loads the config for command name and says which exit code a
// failure deserves: 2 for a missing or invalid file (the user must fix it), 1
// otherwise. Its lines begin "pagereply NAME: ", as every command's errors
// do; a problem with the file then says "config FILE: " (config.Load's).
func loadConfig(env *cmdEnv, name, path string) (*config.Config, int) {
	return loadConfigFor(env, name, path, nil)
}

// loadConfigFor is loadConfig for a command that uses only the keys uses
// says (config.LoadFor): a ${VAR} unset at another key is no error, and
// newApp notes it at debug.
func loadConfigFor(env *cmdEnv, name, path string, uses func(*config.Config, string) bool) (*config.Config, int) {
	if path == "" {
		fmt.Fprintf(env.stderr, "pagereply %s: no configuration: give -c FILE or set PAGEREPLY_CONFIG\n", name)
		return nil, exitUsage
	}
	cfg, err := config.LoadFor(path, uses)
	if err != nil {
		var fe *config.FieldError
		// config.Load's error names the file.
		fmt.Fprintf(env.stderr, "pagereply %s: %v\n", name, err)
		if errors.Is(err, fs.ErrNotExist) && path == env.getenv("PAGEREPLY_CONFIG") {
			// The user gave no path (an image's default, say): say where
			// this one came from and how to give the file.
			fmt.Fprintf(env.stderr, "pagereply %s: that path is PAGEREPLY_CONFIG's: give -c FILE, or put the configuration there (a container needs it mounted: deploy/README.md); pagereply.example.yaml has every key\n", name)
		} else if errors.Is(err, fs.ErrNotExist) {
			// -c's path: a typo, or no configuration written yet.
			fmt.Fprintf(env.stderr, "pagereply %s: no file there: give -c the path of your configuration, or start one from a copy of pagereply.example.yaml (every key, with its default)\n", name)
		} else if errors.Is(err, syscall.EISDIR) {
			// Often a container's: docker run -v ./pagereply.yaml:/path
			// with no such file on the host makes a directory of both.
			from := ""
			if path == env.getenv("PAGEREPLY_CONFIG") {
				from = "that path is PAGEREPLY_CONFIG's: "
			}
			fmt.Fprintf(env.stderr, "pagereply %s: %sgive the configuration file itself, not a directory (a container's bind mount of a file the host does not have makes a directory there: create the file on the host, then mount it)\n", name, from)
		} else if errors.As(err, &fe) && strings.Contains(err.Error(), " is not set") {
			// config's words for a ${VAR} not in the environment. A shell
			// variable set without export is not: `echo $PAGE_TOKEN`
			// shows it, and nothing said why pagereply did not see it.
			fmt.Fprintf(env.stderr, "pagereply %s: a variable the configuration takes must be in pagereply's environment: export it in the shell (VAR=value on a line of its own is not passed on), or set it in the systemd unit's or the container's environment\n", name)
		}
		if errors.As(err, &fe) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EISDIR) {
			return nil, exitUsage
		}
		return nil, exitError
	}
	return cfg, exitOK
}

// newLogger returns the slog logger the config asks for, writing to w. Both
// formats write a duration as Go writes it ("5m0s"), as the config reads it:
// slog's JSON handler alone writes integer nanoseconds.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.SlogLevel(), ReplaceAttr: durationString}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// durationString is a slog ReplaceAttr that writes a duration as its String.
// slog calls it for every attribute but groups, those inside groups included.
func durationString(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// newApp wires the shared parts. Graph calls are counted in metrics and pause a
// Page whose usage headers say it is near its limit.
func newApp(cfg *config.Config, log *slog.Logger) (*app, error) {
	opt, err := tasks.RedisConnOpt(cfg.Redis)
	if err != nil {
		return nil, err
	}
	tasks.SetRedisLogger(log)
	for _, e := range cfg.Unset() {
		// The variable's name (config's words never hold a value), at
		// debug: the command does not use the key.
		log.Debug("configuration key not used by this command has its ${VAR} unset", slog.String("key", e.Path), slog.String("error", e.Msg))
	}
	a := &app{cfg: cfg, log: log, redis: opt, metrics: metrics.NewWith(metrics.Options{NoPageBuckets: !boolOr(cfg.Metrics.PageBuckets, true)})}
	a.rdb = tasks.NewRedisClient(opt)
	linger, flushAt := tasks.BatchOptions(cfg.Worker.Concurrency)
	// One config is one app (one app secret): a throttle of the whole app
	// pauses every Page in it.
	pages := make([]string, len(cfg.Pages))
	tokens := make(map[string]string, len(cfg.Pages))
	for i, p := range cfg.Pages {
		pages[i] = p.ID
		tokens[p.ID] = p.AccessToken
	}
	a.ledger = tasks.NewLedger(a.rdb, tasks.LedgerOptions{Batch: true, Linger: linger, FlushAt: flushAt, AppPages: pages, PageTokens: tokens,
		AppSecret: cfg.Graph.AppSecret})
	a.client = asynq.NewClient(opt)
	a.enq = &tasks.Enqueuer{Client: a.client, Ledger: a.ledger, MaxRetry: cfg.Worker.MaxRetry,
		Inspector: asynq.NewInspectorFromRedisClient(a.rdb)}
	a.graph = a.newGraph(worker.GraphObserver(a.ledger, a.metrics, log))
	return a, nil
}

// newGraph returns a Graph client of the config with observer.
func (a *app) newGraph(observer func(graph.CallInfo)) *graph.Client {
	return graph.New(graph.Config{
		BaseURL: a.cfg.Graph.BaseURL, Version: a.cfg.Graph.Version, AppSecret: a.cfg.Graph.AppSecret,
		Timeout: a.cfg.Graph.Timeout, Observer: observer,
	})
}

// applyConfig brings what Redis holds in line with a config that may have
// changed since the last start: it lifts the page_broken pause of a Page
// whose token is not the one that broke (whoever fixed the token and started
// pagereply again wants its replies now, not when the pause runs out), keeps
// each Page's rate, runs at once the replies (and webhook items) put back
// for a lifted pause or the replies put back for a rate that changed
// (worker.WakePutBacks), and warns of each Page still paused (warnPaused).
// Redis out of reach costs a warning and returns the error (see
// applyConfigAtStart, which tries again): pauses run out, and put-backs come
// back, on their own meanwhile. carry holds the wake-ups an earlier attempt
// decided but did not do (RecordRate says a rate changed once only), and is
// kept up to date for the next.
//
// A process that runs a worker (runsWorker) also reads the replies
// queue's retry and archived tasks at every start, whatever changed: it runs
// the rate put-backs spaced slower than their Page's rate (left by workers
// still on an older rate in a rolling restart) and the replies, webhook
// items and polls archived while their Page was not configured. Other
// processes read them only to wake what their own change made stale.
func (a *app) applyConfig(ctx context.Context, runsWorker bool, carry map[string]worker.Wake) error {
	stop := ctx
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// warn logs a failure, but not one of a stop (SIGINT, SIGTERM, the end
	// of the process's roles): a stop asked for is no failure, and its
	// "context canceled" said nothing of Redis.
	warn := func(msg string, err error) {
		if stop.Err() == nil {
			a.log.Warn(msg, slog.String("error", err.Error()))
		}
	}
	wake := carry
	// Every Page in a few pipelines, not two round trips each: an agency's
	// 5,000 Pages at a Redis 1 ms away took 10 s of the 30 s above.
	ids := make([]string, len(a.cfg.Pages))
	rates := make([]string, len(a.cfg.Pages))
	for i := range a.cfg.Pages {
		ids[i], rates[i] = a.cfg.Pages[i].ID, rateRecord(&a.cfg.Pages[i])
	}
	lifted, err := a.ledger.LiftStaleBrokenPauses(ctx, ids)
	for _, id := range ids {
		if reason, ok := lifted[id]; ok {
			a.log.Info("page_broken pause lifted: the config gives the Page another token", slog.String("page_id", id), slog.String("reason", reason))
			w := wake[id]
			w.Broken = true
			wake[id] = w
		}
	}
	if err != nil {
		warn("cannot check the pauses of broken Pages", err)
		return err
	}
	changedRates, err := a.ledger.RecordRates(ctx, ids, rates)
	for id := range changedRates {
		w := wake[id]
		w.Rate = true
		wake[id] = w
	}
	if err != nil {
		warn("cannot keep the Pages' rates", err)
		return err
	}
	for _, p := range a.cfg.Pages {
		w := wake[p.ID]
		if runsWorker {
			w.Interval = worker.LimitOf(&p, 0).Interval
		}
		if w != (worker.Wake{}) {
			wake[p.ID] = w
		}
	}
	insp := asynq.NewInspectorFromRedisClient(a.rdb)
	var woken map[string]worker.Woken
	if len(wake) > 0 {
		var err error
		if woken, err = worker.WakePutBacks(ctx, insp, a.ledger, wake); err != nil {
			warn("cannot run the replies put back before the config changed; they come back when due", err)
			return err
		}
	}
	if runsWorker {
		configured := make(map[string]bool, len(a.cfg.Pages))
		for _, p := range a.cfg.Pages {
			configured[p.ID] = true
		}
		enq := *a.enq
		enq.Inspector = insp
		ran, err := worker.RunArchivedOfPages(ctx, &enq, configured)
		if err != nil {
			warn("cannot run the replies archived while their Page was not configured", err)
			return err
		}
		for page, n := range ran {
			a.log.Info("replies archived while the Page was not configured run again", slog.String("page_id", page), slog.Int("replies", n))
		}
		items, err := worker.RunArchivedItemsOfPages(ctx, &enq, configured)
		if err != nil {
			warn("cannot run the webhook items archived while their Page was not configured", err)
			return err
		}
		for page, n := range items {
			a.log.Info("webhook items archived while the Page was not configured run again", slog.String("page_id", page), slog.Int("webhook_items", n))
		}
		polls, err := worker.RunArchivedPollsOfPages(ctx, insp, configured)
		if err != nil {
			warn("cannot run the polls archived while their Page was not configured", err)
			return err
		}
		for page, n := range polls {
			a.log.Info("polls archived while the Page was not configured run again", slog.String("page_id", page), slog.Int("polls", n))
		}
	}
	for page, n := range woken {
		a.log.Info("replies put back before the config changed run now", slog.String("page_id", page), slog.Int("replies", n.Replies),
			slog.Int("webhook_items", n.Items), slog.Bool("rate_changed", wake[page].Rate), slog.Bool("pause_lifted", wake[page].Broken))
	}
	clear(carry)
	a.warnPaused(ctx)
	return nil
}

// applyConfigAtStart runs applyConfig, and when Redis could not do it (a
// Redis still loading its data, or away, as pagereply and Redis start
// together after a reboot) again in the background, backing off up to 30 s,
// until it is done or ctx ends: before, it was given up for that start, and
// a broken Page's pause lifted by a new token, the wake-up of put-backs at
// an old rate and the replies archived while their Page was not configured
// waited for the next restart. The returned wait waits for the background
// attempts to end (ctx done).
func (a *app) applyConfigAtStart(ctx context.Context, runsWorker bool) (wait func()) {
	carry := map[string]worker.Wake{}
	if err := a.applyConfig(ctx, runsWorker, carry); err == nil || !tasks.RedisAway(err) {
		// Done, or failed for another reason than Redis out of reach (a
		// deadline on a huge retry set): not tried for ever.
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := time.Second; ; d = min(2*d, 30*time.Second) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
			err := a.applyConfig(ctx, runsWorker, carry)
			if err == nil {
				a.log.Info("config applied to Redis after all")
				return
			}
			if !tasks.RedisAway(err) {
				return
			}
		}
	}()
	return func() { <-done }
}

// warnPaused logs, once at start, each configured Page that is still paused:
// its replies wait, and a pause of an hour or more (a policy_block) would
// otherwise show only in status, the metrics and the log of the worker that
// set it, perhaps long gone. pagereply resume lifts a pause Meta has ended
// sooner.
func (a *app) warnPaused(ctx context.Context) {
	pages := make([]string, len(a.cfg.Pages))
	for i, p := range a.cfg.Pages {
		pages[i] = p.ID
	}
	ps, err := a.ledger.PausedAll(ctx, pages)
	if err != nil {
		if !errors.Is(ctx.Err(), context.Canceled) { // not at a stop
			a.log.Warn("cannot read the Pages' pauses", slog.String("error", err.Error()))
		}
		return
	}
	for _, p := range ps {
		if p.Left > 0 {
			a.log.Warn("page still paused at start; its replies wait until the pause ends or pagereply resume lifts it", slog.String("page_id", p.Page),
				slog.String("kind", tasks.PauseKind(p.Reason)), slog.String("reason", p.Reason), slog.Duration("left", p.Left.Round(time.Second)))
		}
	}
}

// openPageApp starts a command about one configured Page (poll, resume):
// --page given and in the configuration, the configuration loaded, the app
// made and Redis's answer to its config checked (quietRedis: go-redis's own
// lines about a Redis out of reach at debug, the command saying it once).
// The app is nil, with the exit code, when the command ends there; the
// caller closes it otherwise.
func openPageApp(ctx context.Context, env *cmdEnv, name, cfgPath, page string, quietRedis bool, uses func(*config.Config, string) bool) (*app, int) {
	if page == "" {
		fmt.Fprintf(env.stderr, "pagereply %s: --page is required\n", name)
		return nil, exitUsage
	}
	cfg, code := loadConfigFor(env, name, configPath(env, cfgPath), uses)
	if cfg == nil {
		return nil, code
	}
	if _, ok := cfg.Page(page); !ok {
		fmt.Fprintf(env.stderr, "pagereply %s: %s\n", name, unknownPage(cfg, page))
		return nil, exitUsage
	}
	a, err := newApp(cfg, newLogger(cfg.Log, env.stderr))
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply %s: %v\n", name, err)
		return nil, exitUsage
	}
	if quietRedis {
		tasks.SetRedisLoggerAt(a.log, slog.LevelDebug)
	}
	if err := a.checkRedisConfig(ctx); err != nil {
		a.Close()
		fmt.Fprintf(env.stderr, "pagereply %s: %v\n", name, err)
		return nil, exitUsage
	}
	return a, 0
}

// unknownPage says that --page is none of cfg's Pages: naming the value
// given, unless it holds one of the configuration's secrets (a Page's token
// or the app secret passed as --page, a script's variables mixed up), which
// is named by its key, as --text and --comment name one, never the value.
func unknownPage(cfg *config.Config, page string) string {
	if key, ok := cfg.TextSecret(page); ok {
		return "--page holds the value of " + key + ", not a Page id"
	}
	if len(cfg.Unset()) > 0 && !pageIDShaped(page) {
		// A secret whose ${VAR} is not set in this command's environment
		// (config.LoadFor let it pass) is unknown to TextSecret, yet the
		// operator's shell may hold it (a pagereply.env sourced without
		// export): a value no Page id has the shape of is not shown.
		return "--page is not in the configuration's pages, nor shaped as a Page id (a number); its value is not shown: a secret whose ${VAR} is not set here is unknown to this command, and it may be one; " + pageIDs(cfg.Pages)
	}
	return "--page " + page + " is not in the configuration's pages; " + pageIDs(cfg.Pages)
}

// pageIDs names the configured Pages' ids (pages[].id, no secret), the first
// few of many, so a user who mistyped --page sees the ones it takes.
func pageIDs(pages []config.Page) string {
	const most = 5
	ids := make([]string, 0, most)
	for i := range pages {
		if i == most {
			break
		}
		ids = append(ids, pages[i].ID)
	}
	s := "give the id of one of them (pages[].id): " + strings.Join(ids, ", ")
	if len(pages) > most {
		s += fmt.Sprintf(" and %d more", len(pages)-most)
	}
	return s
}

// pageIDShaped reports whether s has the shape of a Page id: digits only.
func pageIDShaped(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// rateRecord is what the ledger keeps of a Page's pacing (Ledger.RecordRate):
// its rate and burst, and its person_gap when it has one (a Page without
// keeps the record of earlier versions, so an upgrade changes nothing). A
// change runs the put-backs of the old pacing now (worker.Wake.Rate).
func rateRecord(p *config.Page) string {
	if p.PersonGap > 0 {
		return fmt.Sprintf("%s burst %d person_gap %s", p.Rate, p.Burst, p.PersonGap)
	}
	return fmt.Sprintf("%s burst %d", p.Rate, p.Burst)
}

// Close releases the Redis connections.
func (a *app) Close() {
	a.ledger.Close()
	_ = a.client.Close()
	_ = a.rdb.Close()
}

// errRedisAuth is Redis refusing the config's credentials at start.
var errRedisAuth = errors.New("redis refused the credentials (WRONGPASS/NOAUTH): check the user and password of redis.url (or sentinel/cluster password) and their ${VAR}s")

// checkRedis looks at Redis once at start. Refused credentials, or a
// database the server does not have, are config mistakes that no wait
// mends: redisConfigError's error, and the command exits 2 (before, a worker
// logged "pagereply running" and asynq's errors for ever, /readyz the only
// sign). A Redis that cannot be reached is not an error here: pagereply
// starts and waits for it, as it rides out an outage. A Redis that evicts
// keys under memory pressure is logged loudly: an evicted ledger entry can
// mean a second reply (deploy/redis/redis.conf).
func (a *app) checkRedis(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// go-redis's own line about this ping's failed dials ("redis:
	// connection pool: failed to dial ...") at debug: the WARN below says
	// what it means. Its lines as warnings again from then on.
	tasks.SetRedisLoggerAt(a.log, slog.LevelDebug)
	up, err := a.pingRedis(pctx)
	if up {
		a.warnOpenRedis(pctx)
	}
	tasks.SetRedisLogger(a.log)
	if err != nil {
		return err
	}
	if !up && ctx.Err() != nil {
		// Stopped while it waited (SIGINT): nothing starts to wait for
		// Redis; the caller says the start was stopped.
		return nil
	}
	if !up {
		attrs := []any{slog.String("redis", a.cfg.Redis.Describe())}
		if a.cfg.Redis.UsesTLS() {
			attrs = append(attrs, slog.String("hint", a.cfg.Redis.UpHint()))
		}
		a.log.Warn("Redis does not answer yet: pagereply starts and waits for it", attrs...)
		a.redisAway.Store(true)
		go a.logRedisBack(ctx)
		return nil
	}
	a.warnEviction(pctx)
	return nil
}

// warnOpenRedis warns when redis.url gives a password and Redis takes
// connections without one. Redis 6 and later answer OK to HELLO ... AUTH or
// AUTH default PASSWORD with any password while the default user has none
// (nopass), so such a password went unnoticed: the queue and the ledger are
// open to whoever reaches that Redis, or redis.url points at another Redis
// than the one meant (a test one, without requirepass). One PING on a
// connection of its own without credentials tells: a Redis that wants a
// password answers it NOAUTH, and no warning. Sentinel and Cluster are not
// probed.
func (a *app) warnOpenRedis(ctx context.Context) {
	o, ok := a.redis.(asynq.RedisClientOpt)
	if !ok || o.Password == "" {
		return
	}
	c := redis.NewClient(&redis.Options{Network: o.Network, Addr: o.Addr, DB: o.DB, TLSConfig: o.TLSConfig,
		Protocol: 2, PoolSize: 1, MaxRetries: -1, DisableIdentity: true})
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		return // NOAUTH: the password is needed; or out of reach, said elsewhere
	}
	a.log.Warn("redis.url gives a password, but this Redis takes connections without one too (its default user has no password): "+
		"anyone who reaches it can read and change the queue and the ledger; set requirepass (or turn the default user off) on it, or check that redis.url names the Redis you meant",
		slog.String("redis", a.cfg.Redis.Describe()))
}

// warnEviction warns when Redis may evict keys.
func (a *app) warnEviction(ctx context.Context) {
	policy, err := a.rdb.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		// CONFIG is often renamed or refused on managed Redis.
		a.log.Debug("cannot read Redis's maxmemory-policy", slog.String("error", err.Error()))
		return
	}
	if p := policy["maxmemory-policy"]; p != "" && p != "noeviction" {
		a.log.Warn("Redis may evict keys (maxmemory-policy "+p+"): an evicted ledger entry or claim can mean a second reply to one person; set maxmemory-policy noeviction (deploy/redis/redis.conf)",
			slog.String("maxmemory_policy", p))
	}
	a.warnPersistence(ctx)
}

// warnPersistence warns when Redis keeps no append-only file: a restart of
// Redis then loses the queue, the ledger and the pauses written since its
// last RDB snapshot, or all of them without snapshots (deploy/README.md,
// Redis: "If Redis loses its data").
func (a *app) warnPersistence(ctx context.Context) {
	aof, err := a.rdb.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		a.log.Debug("cannot read Redis's appendonly", slog.String("error", err.Error()))
		return
	}
	if v, ok := aof["appendonly"]; !ok || v != "no" {
		return
	}
	save, err := a.rdb.ConfigGet(ctx, "save").Result()
	if err != nil {
		a.log.Debug("cannot read Redis's save", slog.String("error", err.Error()))
		return
	}
	lost := "the queued replies, the ledger and the pauses written since its last RDB snapshot"
	if strings.TrimSpace(save["save"]) == "" {
		lost = "every queued reply, the ledger and the pauses (it takes no RDB snapshot either: save \"\")"
	}
	a.log.Warn("Redis keeps no append-only file (appendonly no): a restart of Redis loses "+lost+
		"; set appendonly yes (deploy/redis/redis.conf)",
		slog.String("appendonly", "no"), slog.String("save", save["save"]))
}

// logRedisBack pings Redis every 2 s until it answers, and says so (with
// warnEviction's warning, which checkRedis could not give), or ctx is done:
// the line that ends checkRedis's warning. A Redis that then refuses the
// configuration (credentials, database) is said so too.
func (a *app) logRedisBack(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		up, err := a.pingRedis(pctx)
		if err != nil {
			cancel()
			a.log.Error("Redis answers but refuses the configuration", slog.String("redis", a.cfg.Redis.Describe()),
				slog.String("error", err.Error()))
			return
		}
		if up {
			a.redisAway.Store(false)
			a.log.Info("Redis answers", slog.String("redis", a.cfg.Redis.Describe()))
			a.warnOpenRedis(pctx)
			a.warnEviction(pctx)
			cancel()
			return
		}
		cancel()
	}
}

// checkRedisConfig is redisConfigError's error when Redis refuses the
// config (its credentials or its database); nil when it answers, or cannot
// be reached (each command says so its own way). The one-shot commands
// (poll, status, enqueue) check it first, so that a wrong password or
// database is exit 2 before any Graph read.
func (a *app) checkRedisConfig(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err := a.pingRedis(ctx)
	return err
}

// pingRedis reports whether Redis answers a PING; redisConfigError's error
// when it refuses the config, no error when it cannot be reached.
func (a *app) pingRedis(ctx context.Context) (bool, error) {
	err := a.rdb.Ping(ctx).Err()
	if err == nil {
		return true, nil
	}
	return false, a.redisConfigError(err)
}

// redisConfigError returns the config mistake that err, Redis's answer when a
// connection starts (AUTH, SELECT), says, naming the key to fix; nil for
// any other error, such as an outage, which pagereply waits out. Its words
// hold no password.
func (a *app) redisConfigError(err error) error {
	s := err.Error()
	switch {
	case redisAuthError(err):
		return errRedisAuth
	case sentinelUnknownMaster(err) && a.cfg.Redis.Sentinel != nil:
		sc := a.cfg.Redis.Sentinel
		return fmt.Errorf("redis.sentinel.master: the sentinels at %s do not know master %q (SENTINEL get-master-addr-by-name answered nil): use the name of their `sentinel monitor` line",
			strings.Join(sc.Addrs, ","), sc.Master)
	case strings.HasPrefix(s, "ERR DB index is out of range"):
		key, db := a.redisDB()
		return fmt.Errorf("%s: database %d does not exist on this Redis (its `databases` setting): use one it has, like 0", key, db)
	case strings.HasPrefix(s, "ERR SELECT is not allowed in cluster mode"):
		key, db := a.redisDB()
		return fmt.Errorf("%s: database %d: this Redis runs in cluster mode, which has database 0 only: use database 0, or redis.cluster", key, db)
	}
	return nil
}

// redisDB returns the config key that chooses the Redis database, and the
// database it chooses.
func (a *app) redisDB() (string, int) {
	switch o := a.redis.(type) {
	case asynq.RedisFailoverClientOpt:
		return "redis.sentinel.db", o.DB
	case asynq.RedisClientOpt:
		return "redis.url", o.DB
	}
	return "redis", 0
}

// sentinelUnknownMaster reports whether err is go-redis's "all sentinels
// specified in configuration are unreachable" where every sentinel did
// answer, with nil: none monitors a master of the configured name (a
// sentinel that is down or refuses its password gives another error). No
// wait mends it. When only some answered nil and others were out of reach
// or too slow (go-redis joins their errors), those may know the master: a
// wait may mend it, as for an outage.
func sentinelUnknownMaster(err error) bool {
	if !strings.Contains(err.Error(), "all sentinels specified in configuration are unreachable") || !errors.Is(err, redis.Nil) {
		return false
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return true
	}
	for _, e := range joined.Unwrap() {
		if !errors.Is(e, redis.Nil) {
			return false
		}
	}
	return true
}

// redisAuthError reports whether err is Redis refusing the credentials.
func redisAuthError(err error) bool {
	s := err.Error()
	return strings.HasPrefix(s, "WRONGPASS") || strings.HasPrefix(s, "NOAUTH") || strings.HasPrefix(s, "ERR AUTH") ||
		strings.Contains(s, "invalid username-password pair") || strings.Contains(s, "invalid password")
}
