package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func startHealth(t *testing.T, rdb redis.UniversalClient, m *metrics.Metrics) *healthServer {
	t.Helper()
	h := newHealthServer("127.0.0.1:0", rdb, m.Registry, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	return h
}

func TestHealthServer(t *testing.T) {
	db := redistest.New(t)
	m := metrics.New()
	m.RepliesSent.WithLabelValues("42", "poll").Inc()
	h := startHealth(t, db.Client, m)
	base := "http://" + h.Addr()

	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = down.Close() })
	hDown := startHealth(t, down, metrics.New())

	cases := []struct {
		name, url string
		status    int
		want      string
	}{
		{"healthz", base + "/healthz", 200, `"ok"`},
		{"readyz with redis", base + "/readyz", 200, `"ok"`},
		{"metrics of this process", base + "/metrics", 200, `pagereply_replies_sent_total{page="42",source="poll"} 1`},
		{"unknown route", base + "/nope", 404, "no such route"},
		{"readyz without redis", "http://" + hDown.Addr() + "/readyz", 503, "redis does not answer"},
		{"healthz without redis", "http://" + hDown.Addr() + "/healthz", 200, `"ok"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, tc.url)
			if code != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("GET %s: %d %q; want %d with %q", tc.url, code, body, tc.status, tc.want)
			}
		})
	}

	t.Run("stopping", func(t *testing.T) {
		h.Stopping()
		if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "shutting down") {
			t.Fatalf("readyz while stopping: %d %q", code, body)
		}
		if code, _ := get(t, base+"/healthz"); code != 200 {
			t.Fatalf("healthz while stopping: %d", code)
		}
	})
}

// TestHealthReadyzRedisHung: against a Redis that accepts connections and
// never answers, the health server's /readyz answers 503 within its budget,
// and probes that keep coming share one PING instead of each holding a
// connection.
func TestHealthReadyzRedisHung(t *testing.T) {
	hung := redistest.NewHung(t)
	rdb := tasks.NewRedisClient(asynq.RedisClientOpt{Addr: hung.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	h := newHealthServer("127.0.0.1:0", rdb, metrics.New().Registry, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.ready = tasks.NewPinger(rdb, 100*time.Millisecond)
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Shutdown(context.Background()) })
	url := "http://" + h.Addr() + "/readyz"
	// Far above the budget, far below go-redis's read timeout (3 s).
	hung.CheckProbes(t, 2*time.Second, func() (int, error) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err
		}
		_ = resp.Body.Close()
		return resp.StatusCode, nil
	})
}

// TestShutdownReadyzAtOnce: from the first moment of a stop, /readyz
// answers 503 while the API still serves and /healthz 200, so that probes
// and load balancers send it nothing new while the roles before it stop (here
// a scheduler whose stop takes a while): on the API's address, and on the
// --health-addr server, not only once that stops itself at the end.
func TestShutdownReadyzAtOnce(t *testing.T) {
	for _, separate := range []bool{false, true} {
		t.Run(map[bool]string{false: "api address", true: "health-addr"}[separate], func(t *testing.T) {
			e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 5}, "10/s")
			a, err := newApp(e.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(a.Close)
			opts := roleOptions{apiAddr: freeAddr(t)}
			probe := opts.apiAddr
			if separate {
				opts.healthAddr = freeAddr(t)
				probe = opts.healthAddr
			}
			r, err := startRoles(context.Background(), a, roleSet{api: true}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if code, body := get(t, "http://"+probe+"/readyz"); code != 200 {
				t.Fatalf("readyz before the stop: %d %q", code, body)
			}
			schedStopping, release := make(chan struct{}), make(chan struct{})
			r.stopSchd = func(context.Context) { close(schedStopping); <-release }
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				r.shutdown(context.Background())
			}()
			<-schedStopping
			code, body := get(t, "http://"+probe+"/readyz")
			hcode, _ := get(t, "http://"+probe+"/healthz")
			close(release)
			<-stopped
			if code != 503 || !strings.Contains(body, "shutting down") {
				t.Errorf("readyz once the stop began: %d %q; want 503 shutting down", code, body)
			}
			if hcode != 200 {
				t.Errorf("healthz once the stop began: %d; want 200 while the roles drain", hcode)
			}
		})
	}
}

func TestHealthcheckCommand(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(200)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			w.WriteHeader(503)
		}
	}))
	t.Cleanup(srv.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"2xx", []string{"--url", srv.URL + "/ok"}, exitOK, "200"},
		{"503", []string{"--url", srv.URL + "/readyz"}, exitError, "503"},
		{"redirect is not followed", []string{"--url", srv.URL + "/moved"}, exitError, "302"},
		{"nothing listening", []string{"--url", closedURL + "/healthz"}, exitError, "refused"},
		{"not http", []string{"--url", "ftp://127.0.0.1/x"}, exitError, "--url"},
		{"no host", []string{"--url", "http:///healthz"}, exitError, "--url"},
		{"bad timeout", []string{"--timeout", "0s"}, exitError, "--timeout"},
		{"unknown flag", []string{"--bogus"}, exitError, "bogus"},
		{"password not shown", []string{"--url", "http://user:s3cret-pw@" + strings.TrimPrefix(srv.URL, "http://") + "/down"}, exitError, "503"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			env := &cmdEnv{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
			code := runMain(context.Background(), env, append([]string{"healthcheck"}, tc.args...))
			all := out.String() + errOut.String()
			if code != tc.code || !strings.Contains(all, tc.want) {
				t.Fatalf("exit %d, output %q; want %d and %q", code, all, tc.code, tc.want)
			}
			if strings.Contains(all, "s3cret-pw") {
				t.Fatalf("the URL's password was printed: %q", all)
			}
		})
	}
}

// TestHealthAddr runs the worker and scheduler roles as processes with
// --health-addr, probes them with the healthcheck command, and stops them
// with SIGTERM.
func TestHealthAddr(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 2, Seed: 5}, "10/s")
	for _, role := range []string{"worker", "scheduler", "api"} {
		t.Run(role, func(t *testing.T) {
			addr := freeAddr(t)
			p := start(t, role, "-c", e.cfgPath, "--health-addr", addr)
			eventually(t, 15*time.Second, role+" readyz", func() bool {
				select {
				case <-p.done:
					t.Fatalf("%s exited %d:\n%s", role, p.code, p.stderr)
				default:
				}
				_, _, code := run(t, "healthcheck", "--url", "http://"+addr+"/readyz")
				return code == 0
			})
			if code, body := get(t, "http://"+addr+"/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
				t.Fatalf("metrics: %d %q", code, body)
			}
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := p.wait(t, stopBudget+5*time.Second); code != 0 {
				t.Fatalf("%s exited %d after SIGTERM:\n%s", role, code, p.stderr)
			}
			checkNoSecrets(t, e.secrets, map[string]string{role + " stderr": p.stderr.String()})
		})
	}

	t.Run("bad address", func(t *testing.T) {
		for _, c := range []struct {
			cmd, addr string
			code      int
		}{
			{"worker", "9090", exitUsage},
			{"scheduler", "127.0.0.1:http", exitUsage},
			{"serve", ":70000", exitUsage},
			{"worker", "taken", exitError}, // replaced by an address in use
		} {
			args := []string{c.cmd, "-c", e.cfgPath, "--health-addr", c.addr}
			if c.code == exitError {
				// Taken: a listener of this test holds it.
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				args[len(args)-1] = ln.Addr().String()
			}
			_, errOut, code := run(t, args...)
			if code != c.code || !strings.Contains(errOut, "--health-addr") {
				t.Fatalf("%v: exit %d, stderr %q; want %d naming --health-addr", args, code, errOut, c.code)
			}
		}
	})

	t.Run("help", func(t *testing.T) {
		for _, c := range []string{"serve", "worker", "scheduler", "api"} {
			out, _, code := run(t, c, "-h")
			if code != 0 || !strings.Contains(out, "-health-addr") || !strings.Contains(out, "stops within "+stopBudget.String()) {
				t.Fatalf("%s -h: exit %d:\n%s", c, code, out)
			}
		}
	})
}
