package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPollRedisRefusedSaysItOnce_audit13: poll without --dry-run, with
// nothing listening at redis.url, exits 1 with its own line alone, asking
// whether Redis is up: a WARN "cannot check the pauses of broken Pages"
// (the config's apply at the poll's start) came first, as the dry run
// (TestPollWithRedisAway) did not.
func TestPollRedisRefusedSaysItOnce_audit13(t *testing.T) {
	t.Parallel()
	cfg := refusedRedisConfig(t)
	out, errOut, code := run(t, "poll", "-c", cfg, "--page", "123")
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != exitError || out != "" || len(lines) != 1 || !strings.HasPrefix(errOut, "pagereply poll: ") ||
		!strings.Contains(errOut, "(is Redis at redis://") || strings.Contains(errOut, "level=WARN") || strings.Contains(errOut, `"WARN"`) {
		t.Errorf("poll with Redis refusing: exit %d, want %d and one line asking whether Redis is up\nstdout %q\nstderr %q", code, exitError, out, errOut)
	}
}

// refusedRedisConfig writes a config of one Page (id 123) whose redis.url
// is a loopback port nothing listens on, and returns its path.
func refusedRedisConfig(t *testing.T) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: redis://" + freeAddr(t) + "/0\n" +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}
