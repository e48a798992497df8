package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/redisproc"
)

// TestRedisWithoutAOFWarnedAtStart_audit10: deploy/README.md asks for a Redis
// with the append-only file on (a restart keeps the queue and the ledger); a
// role started against one without it says so at start, at WARN, and what a
// restart of Redis would lose. One with the AOF on gets no such line.
func TestRedisWithoutAOFWarnedAtStart_audit10(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  redisproc.Options
		want string // "" : no warning
	}{
		{"no persistence", redisproc.Options{}, "every queued reply"},
		{"RDB only", redisproc.Options{Args: []string{"--save", "60 1"}}, "since its last RDB snapshot"},
		{"AOF", redisproc.Options{AOF: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := redisproc.Start(t, tc.opt)
			cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
			yaml := "redis:\n  url: " + rs.URL(0) + "\n" +
				"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
			if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			p := start(t, "worker", "-c", cfg)
			eventually(t, 20*time.Second, "the worker running", func() bool { return strings.Contains(p.stderr.String(), "pagereply running") })
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			if code := p.wait(t, 30*time.Second); code != exitOK {
				t.Fatalf("worker stopped with exit %d\n%s", code, p.stderr)
			}
			var line string
			for _, l := range strings.Split(p.stderr.String(), "\n") {
				if strings.Contains(l, "appendonly no") {
					line = l
				}
			}
			switch {
			case tc.want == "" && line != "":
				t.Errorf("a warning about a Redis with the AOF on: %s", line)
			case tc.want != "" && (!strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, tc.want) || !strings.Contains(line, "appendonly yes")):
				t.Errorf("no WARN saying what a restart loses (%q) and what to set:\n%s", tc.want, p.stderr)
			}
		})
	}
}
