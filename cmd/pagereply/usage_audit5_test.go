package main

import (
	"strings"
	"testing"
)

// TestUsageWithoutFlags: a command without flags (version) prints no empty
// "Flags:" heading in its -h; one with flags still does.
func TestUsageWithoutFlags(t *testing.T) {
	out, errOut, code := runInProcess(t, nil, "version", "-h")
	if code != exitOK || errOut != "" || !strings.Contains(out, "Usage: pagereply version") || strings.Contains(out, "Flags:") {
		t.Errorf("version -h: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	out, _, code = runInProcess(t, nil, "healthcheck", "-h")
	if code != exitOK || !strings.Contains(out, "Flags:\n  -timeout") {
		t.Errorf("healthcheck -h: exit %d\n%s", code, out)
	}
}
