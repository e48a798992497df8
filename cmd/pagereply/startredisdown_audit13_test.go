package main

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartRedisRefusedSaysItFirst_audit13: a worker started with nothing
// listening at redis.url says first that Redis does not answer yet and that
// it waits for it: go-redis's "connection pool: failed to dial" WARN of the
// start's ping came before that line, saying the same without its meaning.
func TestStartRedisRefusedSaysItFirst_audit13(t *testing.T) {
	t.Parallel()
	cfg := refusedRedisConfig(t)
	p := start(t, "worker", "-c", cfg)
	const waits = "Redis does not answer yet: pagereply starts and waits for it"
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), waits) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", waits, p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != exitOK {
		t.Errorf("worker stopped with exit %d", code)
	}
	first, _, _ := strings.Cut(p.stderr.String(), "\n")
	if !strings.Contains(first, waits) {
		t.Errorf("the first line is not %q but %s\nlog:\n%s", waits, first, p.stderr)
	}
}
