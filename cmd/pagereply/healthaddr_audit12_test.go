package main

import (
	"strings"
	"testing"
)

// TestHealthAddrExampleAsDocs_audit12: a --health-addr that is not
// host:port is refused (exit 2) with the example the docs and -h give,
// :9090, not api.addr's 127.0.0.1:8080, for serve and each role.
func TestHealthAddrExampleAsDocs_audit12(t *testing.T) {
	for _, cmd := range []string{"serve", "worker", "scheduler", "api"} {
		_, errOut, code := runInProcess(t, nil, cmd, "-c", "unused.yaml", "--health-addr", "9090")
		if code != exitUsage || !strings.Contains(errOut, "is not host:port, like :9090") || strings.Contains(errOut, "8080") {
			t.Errorf("%s --health-addr 9090: exit %d, want %d with the docs' example :9090\n%s", cmd, code, exitUsage, errOut)
		}
	}
}
