package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestPollGraphNoAnswerNamesBaseURL_audit21: a user who ran poll with the
// sandbox not started (or graph.base_url on the wrong port) read only
// "graph: feed: connection failed: dial tcp ...: connect: connection
// refused [class transient]", where a refused token gets a line saying
// which key to check. A Graph that gives no answer now gets one too: it
// names graph.base_url and its value (which holds no user or password:
// the config refuses one), for the poll and its dry run alike.
func TestPollGraphNoAnswerNamesBaseURL_audit21(t *testing.T) {
	cfg, base := noGraphConfig(t, "")
	want := "pagereply poll: Graph did not answer at " + base + " (graph.base_url):"
	for _, args := range [][]string{{"poll", "-c", cfg, "--page", "123"}, {"poll", "-c", cfg, "--page", "123", "--dry-run"}} {
		_, errOut, code := run(t, args...)
		if code != exitError || !strings.Contains(errOut, "pagereply poll: poll page 123: graph: ") || !strings.Contains(errOut, want) {
			t.Errorf("%v with nothing at graph.base_url: exit %d, want %d and a line %q\n%s", args, code, exitError, want, errOut)
		}
		if strings.Contains(errOut, "access_token") || strings.Contains(errOut, "EAABtokentoken") {
			t.Errorf("%v: the hint names the token:\n%s", args, errOut)
		}
	}
}

// noGraphConfig writes a config of Page 123 (token EAABtokentoken) whose
// graph.base_url is a loopback port nothing listens at, with graphExtra's
// lines under graph:, and returns its path and that URL.
func noGraphConfig(t *testing.T, graphExtra string) (cfg, base string) {
	t.Helper()
	db := redistest.New(t)
	base = "http://" + freeAddr(t)
	cfg = filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: " + db.URL() + "\n" +
		"graph:\n  base_url: " + base + "\n" + graphExtra +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, base
}
