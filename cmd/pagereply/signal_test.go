package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSecondSignalEndsAtOnce: the first SIGTERM starts the graceful stop
// (exit 0); a second one, sent during that stop, ends the process at once,
// by the signal's default action, as a second Ctrl-C in a terminal should.
func TestSecondSignalEndsAtOnce(t *testing.T) {
	for _, signals := range []int{1, 2} {
		p := start(t, "demo", "--addr", freeAddr(t))
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(p.stdout.String(), "until Ctrl-C") {
			if time.Now().After(deadline) {
				t.Fatalf("demo not up after 60s:\n%s\n%s", p.stdout, p.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if signals == 2 {
			// The second during the stop, once the first was taken.
			for !strings.Contains(p.stdout.String(), "stopping...") {
				if time.Now().After(deadline) {
					t.Fatalf("demo not stopping:\n%s\n%s", p.stdout, p.stderr)
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(20 * time.Millisecond)
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
			t.Errorf("two SIGTERMs: %v, want the process ended by the second", p.cmd.ProcessState)
		}
	}
}
