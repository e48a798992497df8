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

// TestSecondSignalEndsAtOnce: the first SIGTERM starts the graceful stop
// (exit 0); a second one, sent during that stop, ends the process at once,
// by the signal's default action, as a second Ctrl-C in a terminal should.
// Graph answers each call after 2 s here (graph.timeout is 3 s), so the stop, which lets the sends
// in flight finish, lasts seconds: the second signal comes during it
// whatever the machine's load (against the demo, whose stop takes a few
// milliseconds, it came after it on a busy machine).
func TestSecondSignalEndsAtOnce(t *testing.T) {
	t.Parallel() // mostly waits out the sandbox's 2s sends
	for _, signals := range []int{1, 2} {
		e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 6, Seed: 11,
			Faults: sandbox.Faults{Latency: 2 * time.Second}}, "25/s")
		p := start(t, "serve", "-c", e.cfgPath, "--roles", "scheduler,worker")
		eventually(t, 60*time.Second, "a send in flight", func() bool { return e.sb.Calls()[sandbox.EndpointMessages] > 0 })
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if signals == 2 {
			time.Sleep(500 * time.Millisecond)
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatalf("second SIGTERM: %v (the graceful stop was over already)", err)
			}
		}
		p.wait(t, 60*time.Second)
		ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		switch {
		case signals == 1 && (ws.Signaled() || p.code != 0):
			t.Errorf("one SIGTERM: %v, want a graceful exit 0\n%s", p.cmd.ProcessState, p.stderr)
		case signals == 2 && !(ws.Signaled() && ws.Signal() == syscall.SIGTERM):
			t.Errorf("two SIGTERMs: %v, want the process ended by the second\n%s", p.cmd.ProcessState, p.stderr)
		}
	}
}

// TestHangupStopsGracefully: SIGHUP (the terminal or SSH session of a
// `pagereply serve` closed) starts the same graceful stop as SIGTERM. By
// Go's default it ended the process at once (status 129), cutting the sends
// in flight, whose outcome was then in doubt until their lease ran out.
// Under nohup (SIGHUP ignored when the process starts) it stays ignored: the
// process outlives its terminal, as nohup is for, until SIGTERM.
func TestHangupStopsGracefully(t *testing.T) {
	// A test run itself started under nohup (a CI job in the background)
	// ignores SIGHUP, and its children would inherit that: the "terminal"
	// case would be the nohup one. A signal this process handles is reset to
	// its default in the programs it execs, so handle it while they start.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	t.Cleanup(func() { signal.Stop(hup) })
	for _, nohup := range []bool{false, true} {
		t.Run(map[bool]string{false: "terminal", true: "nohup"}[nohup], func(t *testing.T) {
			t.Parallel() // mostly waits out the sandbox's 2s sends
			e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 6, Seed: 11,
				Faults: sandbox.Faults{Latency: 2 * time.Second}}, "25/s")
			args := []string{"serve", "-c", e.cfgPath, "--roles", "scheduler,worker"}
			if nohup {
				// What nohup does: SIGHUP ignored, then the program exec'd.
				args = append([]string{"-c", `trap "" HUP; exec "$0" "$@"`, binPath}, args...)
			}
			var p *proc
			if nohup {
				p = startCmd(t, "sh", args...)
			} else {
				p = start(t, args...)
			}
			eventually(t, 60*time.Second, "a send in flight", func() bool { return e.sb.Calls()[sandbox.EndpointMessages] > 0 })
			if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			if nohup {
				// The process still takes new work: a reply queued after
				// the SIGHUP is sent.
				page := e.sb.Pages()[0].ID
				late := e.sb.AddComment(e.sb.Posts(page)[0].ID, sandbox.User{ID: "777000131", Name: "Late Person"}, "hello", time.Now())
				if out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page, "--comment", late, "--text", "after the hangup"); code != exitOK {
					t.Fatalf("enqueue: %d %q %q", code, out, errOut)
				}
				eventually(t, 60*time.Second, "the reply queued after SIGHUP sent", func() bool { return e.sb.SendCount(late) == 1 })
				select {
				case <-p.done:
					t.Fatalf("SIGHUP under nohup ended the process: %v\n%s", p.cmd.ProcessState, p.stderr)
				default:
				}
				if strings.Contains(p.stderr.String(), "shutting down") {
					t.Fatalf("SIGHUP under nohup began a stop:\n%s", p.stderr)
				}
				if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
					t.Fatal(err)
				}
			}
			p.wait(t, 60*time.Second)
			if ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ws.Signaled() || p.code != 0 {
				t.Errorf("exit: %v, want a graceful exit 0\n%s", p.cmd.ProcessState, p.stderr)
			}
		})
	}
}
