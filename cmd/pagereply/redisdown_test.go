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

// TestRedisCredentialsRefusedAtStart: a worker whose Redis password is wrong
// exits 2 at once, saying so without the password, instead of running with
// asynq's errors for ever. A Redis that may evict keys is warned about at
// start.
func TestRedisCredentialsRefusedAtStart(t *testing.T) {
	rs := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory-policy", "allkeys-lru"}})
	// Set after start: redisproc's readiness check has no password.
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	if err := rc.ConfigSet(context.Background(), "requirepass", "right-pass-0123456789").Err(); err != nil {
		t.Fatal(err)
	}
	_ = rc.Close()
	write := func(url string) string {
		cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
		yaml := "redis:\n  url: " + url + "\n" +
			"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	wrong := write("redis://:wrong-pass-9876543210@" + rs.Addr() + "/0")
	for _, args := range [][]string{
		{"worker", "-c", wrong},
		{"status", "-c", wrong},
		{"poll", "-c", wrong, "--page", "123", "--dry-run"},
		{"enqueue", "-c", wrong, "--page", "123", "--comment", "1_2", "--text", "hi"},
	} {
		_, errOut, code := run(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "refused the credentials") || strings.Contains(errOut, "wrong-pass") {
			t.Errorf("%s with a wrong Redis password: exit %d\n%s", args[0], code, errOut)
		}
	}
	p := start(t, "worker", "-c", write("redis://:right-pass-0123456789@"+rs.Addr()+"/0"))
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.stderr.String(), "may evict keys (maxmemory-policy allkeys-lru)") {
		if time.Now().After(deadline) {
			t.Fatalf("no eviction warning at start:\n%s", p.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != exitOK {
		t.Errorf("worker stopped with exit %d", code)
	}
	if strings.Contains(p.stderr.String(), "right-pass") {
		t.Error("the Redis password reached the log")
	}
}

// TestWorkerStartsBeforeRedis: a worker started while Redis does not answer
// says that it waits for it, and says when Redis answers, with the warning
// about a Redis that may evict keys that the start could not give.
func TestWorkerStartsBeforeRedis(t *testing.T) {
	rs := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory-policy", "allkeys-lru"}})
	rs.Kill()
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: " + rs.URL(0) + "\n" +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "worker", "-c", cfg)
	waitLog := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(p.stderr.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log:\n%s", want, p.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitLog("Redis does not answer yet: pagereply starts and waits for it")
	if strings.Contains(p.stderr.String(), `"msg":"Redis answers"`) {
		t.Fatal("Redis said to answer while down")
	}
	rs.Restart()
	waitLog(`"msg":"Redis answers"`)
	// What the start could not check, it checks now.
	waitLog("may evict keys (maxmemory-policy allkeys-lru)")
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != exitOK {
		t.Errorf("worker stopped with exit %d", code)
	}
}
