package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pagereply/pagereply/internal/proctest"
)

// silentRedis listens on loopback and takes connections without ever
// answering on them, as a Redis still loading or behind a stalled network
// does; at the stopAt-th connection it calls stop, a Ctrl-C while the
// command waits for Redis. It returns the address.
func silentRedis(t *testing.T, stopAt int, stop func()) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for n := 1; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			if n == stopAt {
				stop()
			}
		}
	}()
	return ln.Addr().String()
}

// TestStopBeforeRolesStartSaysSo_audit19: a stop (SIGINT, SIGTERM) that
// comes while a role command waits for Redis at its start (its first PING,
// or the config's apply to Redis after the "Redis does not answer yet"
// WARN) ends the start there: one INFO line saying the start was stopped
// before the roles started, exit 0, no role started. Before, the apply
// logged a WARN ending "context canceled", then the roles started, then
// stopped at once.
func TestStopBeforeRolesStartSaysSo_audit19(t *testing.T) {
	for _, cmd := range []string{"serve", "worker", "scheduler", "api"} {
		// 1: during the start's PING; 2: during the config's apply, after
		// the PING gave up.
		for _, stopAt := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/conn%d", cmd, stopAt), func(t *testing.T) {
				t.Parallel() // mostly waits out the PING's 3 s
				ctx, cancel := context.WithCancelCause(context.Background())
				defer cancel(nil)
				addr := silentRedis(t, stopAt, func() { cancel(errors.New("interrupt signal received")) })
				cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
				yaml := "redis:\n  url: redis://" + addr + "/0\n" +
					"api:\n  addr: 127.0.0.1:0\n  tokens: [\"stopatstart-api-token-0123456789\"]\n" +
					"pages:\n  - id: \"123\"\n    access_token: \"EAABstopatstarttoken\"\n    default_text: \"hi\"\n"
				if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				errOut := new(proctest.Buffer)
				code := runMain(ctx, &cmdEnv{stdout: &out, stderr: errOut, getenv: func(string) string { return "" }}, []string{cmd, "-c", cfg})
				log := errOut.String()
				var bad []string
				if code != exitOK {
					bad = append(bad, fmt.Sprintf("exit %d, want %d", code, exitOK))
				}
				if !strings.Contains(log, `"level":"INFO","msg":"start stopped before the roles started"`) {
					bad = append(bad, "no INFO line saying the start was stopped")
				}
				// A stop before the roles started is no failure, and starts
				// no role.
				for _, s := range []string{"context canceled", "pagereply running", "api listening", "scheduler started", "shutting down"} {
					if strings.Contains(log, s) {
						bad = append(bad, fmt.Sprintf("the log holds %q", s))
					}
				}
				for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
					if strings.Contains(l, `"level":"WARN"`) && !(stopAt == 2 && strings.Contains(l, "Redis does not answer yet")) {
						bad = append(bad, "a WARN line: "+l)
					}
				}
				if strings.Contains(log, "EAABstopatstarttoken") || strings.Contains(log, "stopatstart-api-token") {
					bad = append(bad, "a secret in the log")
				}
				if len(bad) > 0 {
					t.Errorf("%s\nlog:\n%s", strings.Join(bad, "\n"), log)
				}
			})
		}
	}
}
