package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
)

// startAPIRole starts the api role of cfg's copy, changed by edit, in this
// process, and stops it at the end of the test.
func startAPIRole(t *testing.T, e *e2e, edit func(c *e2e)) {
	t.Helper()
	cfg := *e.cfg
	e2 := *e
	e2.cfg = &cfg
	edit(&e2)
	a, err := newApp(e2.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	r, err := startRoles(context.Background(), a, roleSet{api: true}, roleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.shutdown(context.Background()) })
}

// TestMonitorConfigAudit3: the api role's monitor follows api.monitor and
// api.monitor_read_only, and without them (nil) is on and read-only: its
// write actions (pause a queue, delete or run tasks) need
// monitor_read_only: false, as SPEC says.
func TestMonitorConfigAudit3(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 5}, "10/s")
	no, yes := false, true
	basic := func(r *http.Request) { r.SetBasicAuth("admin", e2eAPIToken) }
	for _, tc := range []struct {
		name                   string
		monitor, readOnly      *bool
		wantMonitor, wantWrite bool
	}{
		{"unset", nil, nil, true, false},
		{"on, read-only", &yes, &yes, true, false},
		{"off", &no, nil, false, false},
		{"on, writable", &yes, &no, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			startAPIRole(t, e, func(c *e2e) { c.cfg.API.Monitor, c.cfg.API.MonitorReadOnly = tc.monitor, tc.readOnly })
			if a := e.call(t, "GET", "/monitor/", nil, basic); (a.status == http.StatusOK) != tc.wantMonitor {
				t.Errorf("GET /monitor/: %d, want a monitor %v", a.status, tc.wantMonitor)
			}
			if !tc.wantMonitor {
				return
			}
			a := e.call(t, "POST", "/monitor/api/queues/replies:pause", nil, basic)
			if write := a.status != http.StatusMethodNotAllowed; write != tc.wantWrite {
				t.Errorf("POST a monitor write action: %d %.200s, want it allowed %v", a.status, a.raw, tc.wantWrite)
			}
		})
	}
}

// TestRoleFlagsReachTheRolesAudit3: serve's and api's --insecure start the
// api role of a config without api.tokens (its /v1 open), and serve's
// --health-addr serves the probes there; the process stops with exit 0
// when its context ends (SIGTERM).
func TestRoleFlagsReachTheRolesAudit3(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 5}, "10/s")
	raw, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	tokenless := strings.Replace(string(raw), "  tokens: [\""+e2eAPIToken+"\"]\n", "", 1)
	if tokenless == string(raw) {
		t.Fatal("the e2e config has no api.tokens line to take out")
	}
	if err := os.WriteFile(e.cfgPath, []byte(tokenless), 0o600); err != nil {
		t.Fatal(err)
	}
	health := freeAddr(t)
	for _, args := range [][]string{
		{"api", "-c", e.cfgPath, "--insecure"},
		{"serve", "-c", e.cfgPath, "--roles", "api", "--insecure", "--health-addr", health},
	} {
		t.Run(args[0], func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, stderr, done := runInBackground(ctx, runMain, args...)
			eventually(t, 20*time.Second, "pagereply running", func() bool {
				select {
				case code := <-done:
					t.Fatalf("exited %d:\n%s", code, stderr)
				default:
				}
				return strings.Contains(stderr.String(), `"msg":"pagereply running"`)
			})
			if a := e.call(t, "GET", "/v1/replies/comment:1_999", nil, nil); a.status != http.StatusNotFound {
				t.Errorf("/v1 without a token under --insecure: %d %.200s, want 404 (open)", a.status, a.raw)
			}
			if args[0] == "serve" {
				if code, body := get(t, "http://"+health+"/readyz"); code != http.StatusOK {
					t.Errorf("serve --health-addr: readyz %d %q, want 200", code, body)
				}
			}
			cancel()
			select {
			case code := <-done:
				if code != exitOK {
					t.Errorf("exit %d after the stop, want 0:\n%s", code, stderr)
				}
			case <-time.After(stopBudget):
				t.Fatal("no exit after the stop")
			}
		})
	}
}

// TestAPIAddrTakenAudit3: an api.addr in use ends the api role, and serve,
// with exit 1 and the address named, not the usage exit 2 of a config
// mistake, and not a process left running without its API.
func TestAPIAddrTakenAudit3(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 5}, "10/s")
	ln, err := net.Listen("tcp", e.api)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, cmd := range []string{"api", "serve"} {
		_, errOut, code := runInProcess(t, nil, cmd, "-c", e.cfgPath)
		if code != exitError || !strings.Contains(errOut, "pagereply "+cmd+": api: listen on "+e.api) {
			t.Errorf("%s with api.addr taken: exit %d, stderr %q; want 1 naming the address", cmd, code, errOut)
		}
		checkNoSecrets(t, e.secrets, map[string]string{cmd + " stderr": errOut})
	}
}

// TestTextlessPageWarnedAudit3: the scheduler warns at start of each Page
// with neither rules nor default_text (its polls queue nothing), naming
// it, and of no other.
func TestTextlessPageWarnedAudit3(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 2, Posts: 1, Comments: 1, Seed: 5}, "10/s")
	cfg := *e.cfg
	cfg.Pages = append(cfg.Pages[:0:0], cfg.Pages...)
	cfg.Pages[0].Rules, cfg.Pages[0].DefaultText = nil, ""
	log := &proctest.Buffer{}
	a, err := newApp(&cfg, slog.New(slog.NewJSONHandler(log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r, err := startRoles(context.Background(), a, roleSet{scheduler: true}, roleOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.shutdown(context.Background())
	const warn = "page has no rules and no default_text"
	if got := strings.Count(log.String(), warn); got != 1 || !strings.Contains(log.String(), `"page_id":"`+cfg.Pages[0].ID+`"`) {
		t.Errorf("%d warnings %q, want 1 naming %s:\n%s", got, warn, cfg.Pages[0].ID, log.String())
	}
}

// TestRedisAuthErrorAudit3: each of Redis's answers to wrong or missing
// credentials is errRedisAuth (exit 2 at start, no password in its words);
// an outage or another error is not.
func TestRedisAuthErrorAudit3(t *testing.T) {
	a := &app{}
	for _, tc := range []struct {
		answer string
		auth   bool
	}{
		{"NOAUTH Authentication required.", true},
		{"WRONGPASS invalid username-password pair or user is disabled.", true},
		{"ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?", true},
		{"ERR invalid password", true},
		{"ERR invalid username-password pair", true},
		{"dial tcp 127.0.0.1:1: connect: connection refused", false},
		{"LOADING Redis is loading the dataset in memory", false},
	} {
		err := a.redisConfigError(errors.New(tc.answer))
		if got := errors.Is(err, errRedisAuth); got != tc.auth {
			t.Errorf("%q: %v, want the credentials refused %v", tc.answer, err, tc.auth)
		}
	}
}

// startWorkerRedisAway stops rs and starts a worker on its database db.
func startWorkerRedisAway(t *testing.T, rs *redisproc.Server, db int) *proc {
	t.Helper()
	rs.Kill()
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: " + rs.URL(db) + "\n" +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return start(t, "worker", "-c", cfg)
}

// TestRedisBackButRefusesAudit3: a worker started while Redis is away, whose
// Redis then answers but has no such database, says so in an error line
// naming the key to fix, instead of waiting on quietly.
func TestRedisBackButRefusesAudit3(t *testing.T) {
	t.Parallel() // mostly waits for the Redis it starts late
	rs := redisproc.Start(t, redisproc.Options{Args: []string{"--databases", "2"}})
	p := startWorkerRedisAway(t, rs, 5)
	eventually(t, 30*time.Second, "the Redis-away warning", func() bool {
		return strings.Contains(p.stderr.String(), "Redis does not answer yet")
	})
	rs.Restart()
	eventually(t, 30*time.Second, "the refused configuration said", func() bool {
		s := p.stderr.String()
		return strings.Contains(s, `"msg":"Redis answers but refuses the configuration"`) &&
			strings.Contains(s, "redis.url: database 5 does not exist on this Redis")
	})
	stop(t, p)
}

// TestSIGTERMLeavesNoTaskActiveAudit3: SIGTERM while sends are in flight
// (Graph answers each after 2 s) lets them finish or puts them back on the
// queue before the process exits: no reply is left active, waiting out its
// lease with its outcome in doubt, after a graceful exit 0.
func TestSIGTERMLeavesNoTaskActiveAudit3(t *testing.T) {
	t.Parallel() // mostly waits out the sandbox's 2s sends
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 6, Seed: 11,
		Faults: sandbox.Faults{Latency: 2 * time.Second}}, "25/s")
	p := start(t, "serve", "-c", e.cfgPath, "--roles", "scheduler,worker")
	eventually(t, 60*time.Second, "a send in flight", func() bool { return e.sb.Calls()[sandbox.EndpointMessages] > 0 })
	stop(t, p)
	info, err := asynq.NewInspectorFromRedisClient(e.db.Client).GetQueueInfo(tasks.QueueReplies)
	if err != nil {
		t.Fatal(err)
	}
	if info.Active != 0 {
		t.Errorf("%d replies still active after the graceful stop:\n%s", info.Active, p.stderr)
	}
}

// TestLoggerLevelAudit3: log.level sets what the roles' logger writes, in
// both formats: below it nothing, at and above it everything.
func TestLoggerLevelAudit3(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		for _, tc := range []struct {
			level       string
			debug, info bool
		}{
			{"debug", true, true},
			{"info", false, true},
			{"warn", false, false},
		} {
			var buf bytes.Buffer
			log := newLogger(config.Log{Level: tc.level, Format: format}, &buf)
			log.Debug("debug line")
			log.Info("info line")
			log.Warn("warn line")
			s := buf.String()
			if strings.Contains(s, "debug line") != tc.debug || strings.Contains(s, "info line") != tc.info || !strings.Contains(s, "warn line") {
				t.Errorf("%s at level %s wrote:\n%s", format, tc.level, s)
			}
		}
	}
}

// TestEnqueueTakesMaxRetryAudit3: a reply queued by a command gets asynq's
// limit worker.max_retry plus the headroom (max_retry 3 in the e2e
// config), so that a put-back never archives a reply that still has
// retries.
func TestEnqueueTakesMaxRetryAudit3(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 0, Seed: 21}, "10/s")
	page := e.sb.Pages()[0].ID
	target := e.sb.AddComment(e.sb.Posts(page)[0].ID, sandbox.User{ID: "777000151", Name: "Retry Person"}, "hi", time.Now().Add(-time.Minute))
	if out, errOut, code := runInProcess(t, nil, "enqueue", "-c", e.cfgPath, "--page", page, "--comment", target, "--text", "hello"); code != exitOK {
		t.Fatalf("enqueue: %d %q %q", code, out, errOut)
	}
	info, err := asynq.NewInspectorFromRedisClient(e.db.Client).GetTaskInfo(tasks.QueueReplies, "comment:"+target)
	if err != nil {
		t.Fatal(err)
	}
	if want := e.cfg.Worker.MaxRetry + tasks.ReplyRetryHeadroom; e.cfg.Worker.MaxRetry == 0 || info.MaxRetry != want {
		t.Errorf("the queued reply's max retry %d, want %d (worker.max_retry %d)", info.MaxRetry, want, e.cfg.Worker.MaxRetry)
	}
}

// TestApplyConfigRetriesAudit3: a worker started while Redis is away tries
// again to apply its config for as long as Redis stays away, not once: after
// two failed attempts, a Redis that comes back still gets it.
func TestApplyConfigRetriesAudit3(t *testing.T) {
	t.Parallel() // mostly waits for the Redis it starts late
	rs := redisproc.Start(t, redisproc.Options{})
	p := startWorkerRedisAway(t, rs, 0)
	eventually(t, 30*time.Second, "two failed attempts", func() bool {
		return strings.Count(p.stderr.String(), "cannot check the pauses of broken Pages") >= 2
	})
	rs.Restart()
	eventually(t, 60*time.Second, "the config applied", func() bool {
		return strings.Contains(p.stderr.String(), "config applied to Redis after all")
	})
	stop(t, p)
}
