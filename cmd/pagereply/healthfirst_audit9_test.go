package main

import (
	"net"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestHealthAddrTakenStartsNoRole: a worker or scheduler whose --health-addr
// is taken exits 1 before any of its roles starts. It used to bind the
// address last, so a worker took replies from the queue, and a scheduler
// queued its polls at start, and then exited: under a supervisor that
// restarts it, a loop of short runs doing work.
func TestHealthAddrTakenStartsNoRole(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 9}, "10/s")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, role := range []string{"worker", "scheduler", "serve"} {
		_, errOut, code := run(t, role, "-c", e.cfgPath, "--health-addr", ln.Addr().String())
		if code != exitError || !strings.Contains(errOut, "--health-addr") {
			t.Fatalf("%s: exit %d, stderr %q; want %d naming --health-addr", role, code, errOut, exitError)
		}
		// Each role says so at INFO once it runs: the API "api listening",
		// the scheduler "scheduler started".
		for _, started := range []string{`"api listening"`, `"scheduler started"`, `"cron: start"`} {
			if strings.Contains(errOut, started) {
				t.Fatalf("%s started a role (%s) before finding --health-addr taken:\n%s", role, started, errOut)
			}
		}
	}
}
