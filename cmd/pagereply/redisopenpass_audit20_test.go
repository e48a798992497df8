package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redisproc"
)

// TestRedisPasswordNotNeededWarned_audit20: a redis.url with a password,
// pointed at a Redis that has none, was taken without a word: Redis 7
// answers HELLO ... AUTH default PASSWORD with OK while its default user has
// no password. A role started so warns (the queue is open to whoever reaches
// that Redis, or redis.url names another Redis than meant), without the
// password; one whose Redis wants that password does not.
func TestRedisPasswordNotNeededWarned_audit20(t *testing.T) {
	const pw = "audit20-redis-password-9f1c"
	for _, tc := range []struct {
		name        string
		requirepass bool
	}{{"Redis without a password", false}, {"Redis with requirepass", true}} {
		t.Run(tc.name, func(t *testing.T) {
			rs := redisproc.Start(t, redisproc.Options{})
			if tc.requirepass {
				rc := redis.NewClient(&redis.Options{Addr: rs.Addr()})
				err := rc.ConfigSet(context.Background(), "requirepass", pw).Err()
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
			}
			url := strings.Replace(rs.URL(0), "redis://", "redis://:"+pw+"@", 1)
			cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
			yaml := "redis:\n  url: " + url + "\n" +
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
			stderr := p.stderr.String()
			if strings.Contains(stderr, pw) {
				t.Fatalf("the password is in the log:\n%s", stderr)
			}
			var line string
			for _, l := range strings.Split(stderr, "\n") {
				if strings.Contains(l, "takes connections without one too") {
					line = l
				}
			}
			switch {
			case !tc.requirepass && (!strings.Contains(line, `"level":"WARN"`) || !strings.Contains(line, "requirepass")):
				t.Errorf("no WARN that Redis takes connections without the password:\n%s", stderr)
			case tc.requirepass && line != "":
				t.Errorf("a warning for a Redis that wants the password: %s", line)
			}
		})
	}
}
