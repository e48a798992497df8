package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPollWithRedisAway: poll, like status, enqueue and resume, says in one
// line of its own that Redis is out of reach, asking whether it is up, not
// after go-redis's pool warnings. Its "Redis" takes each connection and
// closes it (a proxy whose Redis is down): as away as a refused port, and
// quicker to give up on.
func TestPollWithRedisAway(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: redis://" + ln.Addr().String() + "/0\n" +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run(t, "poll", "-c", cfg, "--page", "123", "--dry-run")
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if code != exitError || len(lines) != 1 || !strings.Contains(errOut, "(is Redis at redis://") || strings.Contains(errOut, "go-redis") {
		t.Errorf("poll --dry-run with Redis away: exit %d\n%s", code, errOut)
	}
}
