package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitStatusInHelp_audit13: check -h and healthcheck -h say their exit
// statuses, as poll, enqueue and resume do, and each holds: check is for a
// deploy pipeline (2 for an invalid file), and healthcheck exits 1, not 2,
// for a mistyped flag (Docker reserves 2), which no help said.
func TestExitStatusInHelp_audit13(t *testing.T) {
	out, _, code := runInProcess(t, nil, "check", "-h")
	if code != exitOK || !strings.Contains(out, "Exit status: 0 valid") || !strings.Contains(out, "; 2 the file is missing") {
		t.Errorf("check -h: exit %d, no exit status:\n%s", code, out)
	}
	bad := filepath.Join(t.TempDir(), "pagereply.yaml")
	if err := os.WriteFile(bad, []byte("nosuchkey: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runInProcess(t, nil, "check", "-c", bad); code != exitUsage {
		t.Errorf("check of an invalid file: exit %d, want %d\n%s", code, exitUsage, errOut)
	}

	out, _, code = runInProcess(t, nil, "healthcheck", "-h")
	if code != exitOK || !strings.Contains(out, "Exit status: 0 the route answered 2xx; 1 otherwise") || !strings.Contains(out, "bad usage\nincluded") {
		t.Errorf("healthcheck -h: exit %d, no exit status:\n%s", code, out)
	}
	if _, errOut, code := runInProcess(t, nil, "healthcheck", "--nosuchflag"); code != exitError {
		t.Errorf("healthcheck with a bad flag: exit %d, want %d\n%s", code, exitError, errOut)
	}
}
