package main

import (
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestShutdownSaysWhichSignal_audit10: the "shutting down" line names the
// signal that began the stop, so a role stopped by a closed terminal or SSH
// session (SIGHUP) is told from one a supervisor stopped (SIGTERM).
func TestShutdownSaysWhichSignal_audit10(t *testing.T) {
	// As TestHangupStopsGracefully: a test run under nohup would hand its
	// children SIGHUP ignored; handled here, it is reset in them.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	t.Cleanup(func() { signal.Stop(hup) })
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 2, Seed: 11}, "25/s")
	for _, tc := range []struct {
		sig  syscall.Signal
		want string
	}{
		{syscall.SIGHUP, `"why":"hangup signal received"`},
		{syscall.SIGTERM, `"why":"terminated signal received"`},
	} {
		p := start(t, "serve", "-c", e.cfgPath, "--roles", "scheduler")
		eventually(t, 30*time.Second, "the scheduler running", func() bool { return strings.Contains(p.stderr.String(), "pagereply running") })
		if err := p.cmd.Process.Signal(tc.sig); err != nil {
			t.Fatal(err)
		}
		if code := p.wait(t, 60*time.Second); code != exitOK {
			t.Fatalf("%v: exit %d\n%s", tc.sig, code, p.stderr)
		}
		var line string
		for _, l := range strings.Split(p.stderr.String(), "\n") {
			if strings.Contains(l, `"msg":"shutting down"`) {
				line = l
			}
		}
		if !strings.Contains(line, tc.want) {
			t.Errorf("%v: the shutting down line %q does not hold %s\n%s", tc.sig, line, tc.want, p.stderr)
		}
	}
}
