package main

import (
	"strings"
	"testing"
)

// TestDemoRedisRefusedSaysItOnce_audit13: the demo with nothing listening at
// --redis exits 1 with its own line alone on stderr, saying what to do: a
// go-redis WARN ("redis: connection pool: failed to dial after 5 attempts")
// came first, a scary line for a try-out that needs no Redis at all.
func TestDemoRedisRefusedSaysItOnce_audit13(t *testing.T) {
	out, errOut, code := run(t, "demo", "--redis", "redis://"+freeAddr(t)+"/0", "--addr", "127.0.0.1:0")
	want := "pagereply demo: Redis at "
	if code != exitError || out != "" || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 ||
		!strings.Contains(errOut, "leave out --redis") ||
		strings.Contains(errOut, "go-redis") || strings.Contains(errOut, "failed to dial") {
		t.Errorf("demo with Redis refusing: exit %d, want %d and the one line %q... naming --redis\nstdout %q\nstderr %q", code, exitError, want, out, errOut)
	}
}
