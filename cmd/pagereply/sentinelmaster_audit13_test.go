package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/redisproc"
)

// TestSentinelUnknownMaster_audit13: a redis.sentinel.master the sentinels
// do not monitor is a config mistake no wait mends: the roles and the
// one-shot commands exit 2 at once, saying the sentinels do not know that
// master (and not its password). Before, the error read "all sentinels
// specified in configuration are unreachable: redis: nil" (they answered),
// a worker started and logged asynq's errors for ever, status exited 1.
func TestSentinelUnknownMaster_audit13(t *testing.T) {
	s := redisproc.StartSentinel(t)
	const password = "Sentinel-Audit13-Passw0rd"
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := fmt.Sprintf("redis:\n  sentinel:\n    master: not-%s\n    addrs: [%s]\n    password: %q\n",
		s.MasterName(), strings.Join(s.SentinelAddrs(), ", "), password) +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n" +
		"api:\n  addr: 127.0.0.1:0\n  tokens: [\"0123456789abcdef0123456789abcdef\"]\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("redis.sentinel.master: the sentinels at %s do not know master %q",
		strings.Join(s.SentinelAddrs(), ","), "not-"+s.MasterName())
	for _, args := range [][]string{
		{"worker", "-c", cfg},
		{"status", "-c", cfg},
		{"enqueue", "-c", cfg, "--page", "123", "--comment", "1_2", "--text", "hi"},
	} {
		t.Run(args[0], func(t *testing.T) {
			p := start(t, args...)
			// A role that does not see the mistake runs on: give up at 15 s.
			code := p.wait(t, 15*time.Second)
			errOut := p.stderr.String()
			if code != exitUsage || !strings.Contains(errOut, want) || strings.Contains(errOut, "unreachable") {
				t.Errorf("exit %d, want %d with %q:\n%s", code, exitUsage, want, errOut)
			}
			if strings.Contains(errOut+p.stdout.String(), password) {
				t.Errorf("the output holds the Redis password:\n%s", errOut)
			}
		})
	}
}
