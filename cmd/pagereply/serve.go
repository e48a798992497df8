package main

import (
	"context"
	"fmt"
	"log/slog"
)

func init() {
	register("serve", "run every role (scheduler, worker, api) in one process", runServe)
	register("worker", "run the worker role: send replies, run polls", roleCommand(roleWorker))
	register("scheduler", "run the scheduler role: enqueue each Page's polls on its schedule", roleCommand(roleScheduler))
	register("api", "run the api role: HTTP API, webhook, metrics, monitor", roleCommand(roleAPI))
}

func runServe(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "serve", "serve -c FILE [--roles scheduler,worker,api] [--insecure] [--health-addr ADDR]",
		"pagereply serve -c pagereply.yaml --roles worker,api")
	addStopNote(fs)
	cfgPath := fs.String("c", "", "configuration file (default $PAGEREPLY_CONFIG)")
	rolesFlag := fs.String("roles", "scheduler,worker,api", "roles to run in this process, comma-separated")
	insecure := fs.Bool("insecure", false, "let the api role start without api.tokens (open to anyone who can reach it)")
	healthAddr := healthAddrFlag(fs)
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	roles, err := parseRoles(*rolesFlag)
	if err == nil {
		err = checkHealthAddr(*healthAddr)
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply serve: %v\n", err)
		return exitUsage
	}
	return serveRoles(ctx, env, "serve", configPath(env, *cfgPath), roles,
		roleOptions{insecure: *insecure, healthAddr: *healthAddr, workerShutdown: workerDrain})
}

// roleCommand returns the command that runs one role.
func roleCommand(role string) func(ctx context.Context, env *cmdEnv, args []string) int {
	return func(ctx context.Context, env *cmdEnv, args []string) int {
		usage := role + " -c FILE [--health-addr ADDR]"
		if role == roleAPI {
			usage = role + " -c FILE [--insecure] [--health-addr ADDR]"
		}
		fs := newFlagSet(env, role, usage, "pagereply "+role+" -c pagereply.yaml")
		addStopNote(fs)
		cfgPath := fs.String("c", "", "configuration file (default $PAGEREPLY_CONFIG)")
		var insecure *bool
		if role == roleAPI {
			insecure = fs.Bool("insecure", false, "start without api.tokens (open to anyone who can reach it)")
		}
		healthAddr := healthAddrFlag(fs)
		if code := parseFlags(fs, args); code >= 0 {
			return code
		}
		if err := checkHealthAddr(*healthAddr); err != nil {
			fmt.Fprintf(env.stderr, "pagereply %s: %v\n", role, err)
			return exitUsage
		}
		roles, _ := parseRoles(role)
		opts := roleOptions{healthAddr: *healthAddr, workerShutdown: workerDrain}
		if insecure != nil {
			opts.insecure = *insecure
		}
		return serveRoles(ctx, env, role, configPath(env, *cfgPath), roles, opts)
	}
}

// serveRoles loads the config, wires the app and runs the roles until a signal.
func serveRoles(ctx context.Context, env *cmdEnv, name, path string, roles roleSet, opts roleOptions) int {
	cfg, code := loadConfig(env, name, path)
	if cfg == nil {
		return code
	}
	// A config the roles cannot run with (the api role without api.tokens)
	// is said before Redis is dialled: a Redis that is down would otherwise
	// keep the user waiting, and its warnings come before the one line that
	// says what to fix.
	if err := checkHealthAddrOnAPI(cfg, roles, opts); err != nil {
		fmt.Fprintf(env.stderr, "pagereply %s: %v\n", name, err)
		return exitUsage
	}
	if err := checkRoles(&app{cfg: cfg}, roles, opts); err != nil {
		fmt.Fprintf(env.stderr, "pagereply %s: config %s: %v\n", name, path, err)
		return exitUsage
	}
	log := newLogger(cfg.Log, env.stderr)
	a, err := newApp(cfg, log)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply %s: %v\n", name, err)
		return exitUsage
	}
	defer a.Close()
	if err := a.checkRedis(ctx); err != nil {
		fmt.Fprintf(env.stderr, "pagereply %s: %v\n", name, err)
		return exitUsage
	}
	if stoppedBeforeStart(ctx, a, roles) {
		return exitOK
	}
	actx, cancel := context.WithCancel(ctx)
	wait := a.applyConfigAtStart(actx, roles.worker)
	defer func() { cancel(); wait() }()
	if stoppedBeforeStart(ctx, a, roles) {
		return exitOK
	}
	return runRoles(ctx, env, name, a, roles, opts)
}

// stoppedBeforeStart reports whether ctx is done (SIGINT, SIGTERM or SIGHUP
// while the start waited for Redis), and then says, at INFO, that the start
// was stopped before the roles started: a stop asked for is no failure (exit
// 0), and no role is started only to be stopped at once.
func stoppedBeforeStart(ctx context.Context, a *app, roles roleSet) bool {
	if ctx.Err() == nil {
		return false
	}
	a.log.Info("start stopped before the roles started", slog.String("roles", roles.String()),
		slog.String("why", context.Cause(ctx).Error()))
	return true
}
