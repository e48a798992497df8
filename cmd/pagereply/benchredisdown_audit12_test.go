package main

import (
	"strings"
	"testing"
)

// TestBenchRedisRefusedSaysItOnce_audit12: bench with nothing listening at
// --redis exits 1 with its own line alone on stderr: go-redis's standard
// logger printed "redis: ... pool.go:770: ... failed to dial" once per
// pooled connection ahead of it. Nothing on stdout.
func TestBenchRedisRefusedSaysItOnce_audit12(t *testing.T) {
	for _, mode := range []string{"pipeline", "redis"} {
		out, errOut, code := run(t, "bench", mode, "--redis", "redis://"+freeAddr(t)+"/15")
		want := "pagereply bench " + mode + ": --redis: "
		if code != exitError || out != "" || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 1 ||
			strings.Contains(errOut, "pool.go") || strings.Contains(errOut, "failed to dial") {
			t.Errorf("bench %s with Redis refusing: exit %d, want %d and the one line %q...\nstdout %q\nstderr %q", mode, code, exitError, want, out, errOut)
		}
	}
}
