package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneShotCommandsWithRedisAway: status and enqueue with Redis out of
// reach say so in one line of their own, not after go-redis's pool warnings.
func TestOneShotCommandsWithRedisAway(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: redis://" + freeAddr(t) + "/0\ngraph:\n  app_secret: s3cret\n" +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status", "-c", cfg},
		{"enqueue", "-c", cfg, "--page", "123", "--comment", "1_2", "--text", "hi"},
	} {
		_, errOut, code := run(t, args...)
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != exitError || len(lines) != 1 || !strings.Contains(errOut, "(is Redis at redis://") || strings.Contains(errOut, "go-redis") {
			t.Errorf("%s with Redis away: exit %d\n%s", args[0], code, errOut)
		}
	}
}
