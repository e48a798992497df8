package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHealthAddrOnAPIAddr_audit14: with the api role, a --health-addr on
// api.addr's port (the same address, or one of them every interface) made
// the process take the port for its health server, then fail to bind the
// API there: exit 1 and "another process listens there (a demo or another
// pagereply still running?)", though no other process did. It is a usage
// mistake, said as one before anything starts (exit 2, naming the flag and
// api.addr); other ports, and roles without the api, are left alone.
func TestHealthAddrOnAPIAddr_audit14(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AUDIT14_HEALTH_TOKEN", "EAABaudithealthtoken")
	t.Setenv("AUDIT14_HEALTH_API", "0123456789abcdef0123456789abcdef")
	apiAddr := freeAddr(t)
	_, apiPort, _ := strings.Cut(apiAddr, ":")
	cfg := filepath.Join(dir, "pagereply.yaml")
	yaml := "redis:\n  url: redis://" + freeAddr(t) + "/3\n" +
		"pages:\n  - id: \"77\"\n    access_token: ${AUDIT14_HEALTH_TOKEN}\n    default_text: \"hi\"\n" +
		"api:\n  addr: " + apiAddr + "\n  tokens: [\"${AUDIT14_HEALTH_API}\"]\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cmd    []string
		health string
	}{
		{[]string{"serve"}, apiAddr},
		{[]string{"serve"}, ":" + apiPort},
		{[]string{"serve", "--roles", "api,worker"}, "0.0.0.0:" + apiPort},
		{[]string{"api"}, apiAddr},
	} {
		args := append(append([]string{}, c.cmd...), "-c", cfg, "--health-addr", c.health)
		out, errOut, code := runInProcess(t, nil, args...)
		want := "pagereply " + c.cmd[0] + ": --health-addr " + c.health + " "
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, want) || !strings.Contains(errOut, "api.addr") || strings.Contains(errOut, "another process") {
			t.Errorf("%v: exit %d, want %d, stderr beginning %q naming api.addr\nstdout %q\nstderr %q", args, code, exitUsage, want, out, errOut)
		}
	}
}
