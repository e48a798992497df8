package main

import (
	"context"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// TestSecondSIGHUPDoesNotKill: a closed terminal or SSH session sends SIGHUP
// twice (the shell passes its own on to its jobs, and the kernel sends the
// foreground group one more as the shell exits): the second must not end the
// graceful stop the first began, as Go's default action for SIGHUP would.
//
// It runs in a process of its own (this test binary, run again): once the
// stop began, SIGHUP stays ignored there, and ignored signals are passed on
// to the processes a process starts, such as the other tests' pagereply
// processes, which would then take SIGHUP for nohup's.
func TestSecondSIGHUPDoesNotKill(t *testing.T) {
	if os.Getenv("PAGEREPLY_SIGHUP_CHILD") == "1" {
		secondSIGHUP(t)
		return
	}
	if signal.Ignored(syscall.SIGHUP) {
		t.Skip("SIGHUP is ignored here (nohup)")
	}
	// Handled here while the child starts, so it starts with SIGHUP's
	// default: a test before this one that handled SIGHUP and stopped
	// (signal.Stop) in a run under nohup leaves it ignored in this process
	// while signal.Ignored says it is not, and the child would inherit it
	// ignored (as TestHangupStopsGracefully).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	cmd := exec.Command(os.Args[0], "-test.run=^TestSecondSIGHUPDoesNotKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PAGEREPLY_SIGHUP_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the process that got two SIGHUPs: %v (%v)\n%s", err, cmd.ProcessState, out)
	}
}

// secondSIGHUP sends this process SIGHUP twice under notifyStop; without
// the fix the second ends it, of SIGHUP.
func secondSIGHUP(t *testing.T) {
	ctx, stop := notifyStop(context.Background())
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("SIGHUP did not start the stop")
	}
	// context.AfterFunc runs in a goroutine of its own: wait until it has
	// put SIGHUP's handling in place (ignored) before the second.
	for deadline := time.Now().Add(5 * time.Second); !signal.Ignored(syscall.SIGHUP); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP not ignored after the stop began")
		}
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
}
