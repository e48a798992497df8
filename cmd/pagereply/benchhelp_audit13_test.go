package main

import (
	"strings"
	"testing"
)

// TestBenchHelpSingleDash_audit13: bench -help asks for bench's usage, as
// -h and --help do and as -help does for every other command (Go's flag
// package takes the three alike): exit 0 with the usage on stdout. It was
// taken for a flag given before the mode, exit 2 "give the mode first".
func TestBenchHelpSingleDash_audit13(t *testing.T) {
	for _, arg := range []string{"-help", "-h", "--help", "--h"} {
		out, errOut, code := runInProcess(t, nil, "bench", arg)
		if code != exitOK || !strings.Contains(out, "Usage: pagereply bench <mode>") || errOut != "" {
			t.Errorf("bench %s: exit %d, want %d with the usage on stdout\nstdout %q\nstderr %q", arg, code, exitOK, out, errOut)
		}
	}
}
