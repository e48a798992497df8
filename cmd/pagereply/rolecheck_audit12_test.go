package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoleRefusesNoTokensBeforeRedis_audit12: the api role (alone or in
// serve) without api.tokens exits 2 naming api.tokens before it dials
// Redis: with Redis down it used to wait for it and log "Redis does not
// answer yet" (and with Redis up, its persistence warnings) ahead of the
// one line that says what to fix.
func TestRoleRefusesNoTokensBeforeRedis_audit12(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "notokens.yaml")
	// Nothing listens at freeAddr: a dial would fail and be waited out.
	body := "redis:\n  url: redis://" + freeAddr(t) + "/3\npages:\n  - id: \"123\"\n    access_token: \"EAAtoken-for-test-0001\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"api", "-c", cfg}, {"serve", "-c", cfg, "--roles", "api"}, {"serve", "-c", cfg}} {
		out, errOut, code := run(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "api.tokens is empty") {
			t.Errorf("%v: exit %d, want %d naming api.tokens\n%s%s", args, code, exitUsage, out, errOut)
		}
		if strings.Contains(out+errOut, "Redis") || strings.Contains(out+errOut, "redis") {
			t.Errorf("%v: said something of Redis before refusing the config:\n%s%s", args, out, errOut)
		}
	}
}
