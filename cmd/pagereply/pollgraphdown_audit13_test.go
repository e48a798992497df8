package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestPollGraphRefusedNoRedisHint_audit13: poll with Graph out of reach
// (nothing listening at graph.base_url) and Redis up exits 1 naming Graph's
// failure, without asking whether Redis is up: a Graph call's network error
// was taken for Redis's and given its hint.
func TestPollGraphRefusedNoRedisHint_audit13(t *testing.T) {
	db := redistest.New(t)
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: " + db.URL() + "\n" +
		"graph:\n  base_url: http://" + freeAddr(t) + "\n" +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"poll", "-c", cfg, "--page", "123"}, {"poll", "-c", cfg, "--page", "123", "--dry-run"}} {
		_, errOut, code := run(t, args...)
		if code != exitError || !strings.Contains(errOut, "pagereply poll: poll page 123: graph: ") || strings.Contains(errOut, "is Redis at") {
			t.Errorf("%v with Graph refusing: exit %d, want %d naming Graph, no Redis hint\n%s", args, code, exitError, errOut)
		}
	}
}
