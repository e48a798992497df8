package main

import (
	"context"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// A closed terminal or SSH session sends SIGHUP twice (the shell passes its
// own on to its jobs, and the kernel sends the foreground group one more as
// the shell exits): the second must not end the graceful stop the first
// began, as Go's default action for SIGHUP would.
func TestSecondSIGHUPDoesNotKill(t *testing.T) {
	if signal.Ignored(syscall.SIGHUP) {
		t.Skip("SIGHUP is ignored here (nohup)")
	}
	defer signal.Reset(syscall.SIGHUP)
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
	time.Sleep(50 * time.Millisecond) // context.AfterFunc runs in its own goroutine
	// Without the fix the test binary dies here, of SIGHUP.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
}
