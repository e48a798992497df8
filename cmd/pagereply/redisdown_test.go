package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/internal/redistest"
)

// TestOneShotCommandsWithRedisAway: status, enqueue and resume with Redis out of
// reach say so in one line of their own, not after go-redis's pool warnings.
func TestOneShotCommandsWithRedisAway(t *testing.T) {
	t.Parallel() // mostly waits on a refused port
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: redis://" + freeAddr(t) + "/0\ngraph:\n  app_secret: s3cret\n" +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status", "-c", cfg},
		{"enqueue", "-c", cfg, "--page", "123", "--comment", "1_2", "--text", "hi"},
		{"resume", "-c", cfg, "--page", "123"},
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
		{"resume", "-c", wrong, "--page", "123"},
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
	if l := lineWith(p.stderr.String(), `"msg":"pagereply running"`); strings.Contains(l, "redis_state") {
		t.Errorf("a start with Redis answering says it does not: %s", l)
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
// about a Redis that may evict keys that the start could not give, and
// applies the config to Redis then.
func TestWorkerStartsBeforeRedis(t *testing.T) {
	t.Parallel() // mostly waits for the Redis it starts late
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
	waitLog("cannot check the pauses of broken Pages")
	// Its "pagereply running" line says that Redis does not answer yet:
	// without, it read as a healthy start between the warning and
	// asynq's errors.
	waitLog(`"msg":"pagereply running"`)
	if !strings.Contains(lineWith(p.stderr.String(), `"msg":"pagereply running"`), `"redis_state":"not answering yet`) {
		t.Errorf("the running line does not say Redis does not answer yet:\n%s", p.stderr)
	}
	if strings.Contains(p.stderr.String(), `"msg":"Redis answers"`) {
		t.Fatal("Redis said to answer while down")
	}
	rs.Restart()
	waitLog(`"msg":"Redis answers"`)
	// What the start could not check, it checks now, and what it could not
	// do to Redis for the config (lift a stale broken pause, record the
	// rates, wake put-backs, run the replies of a Page added back), it does
	// now: before, that waited for the next restart.
	waitLog("may evict keys (maxmemory-policy allkeys-lru)")
	waitLog("config applied to Redis after all")
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != exitOK {
		t.Errorf("worker stopped with exit %d", code)
	}
}

// TestRedisDatabaseOutOfRange: a database the Redis server does not have (a
// redis.url path or redis.sentinel.db at or past its `databases` setting) is
// a config mistake: the roles and the one-shot commands exit 2 at once,
// naming the key. Before, a worker logged that Redis did not answer yet and
// then asynq's "ERR DB index is out of range" about 20 times a second for
// ever, /readyz 503 and nothing sent; status and enqueue blamed an outage
// (exit 1), and so did demo --redis.
func TestRedisDatabaseOutOfRange(t *testing.T) {
	db := redistest.New(t)
	// The first database past the server's last: 16 with the default setting.
	got, err := db.Client.ConfigGet(context.Background(), "databases").Result()
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(got["databases"])
	if err != nil || n < 1 {
		t.Fatalf("CONFIG GET databases: %v %v", got, err)
	}
	write := func(redisYAML string) string {
		cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
		yaml := "redis:\n" + redisYAML +
			"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n" +
			"api:\n  addr: 127.0.0.1:0\n  tokens: [\"0123456789abcdef0123456789abcdef\"]\n"
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	url := fmt.Sprintf("redis://%s/%d", db.Addr, n)
	cfg := write("  url: " + url + "\n")
	want := fmt.Sprintf("redis.url: database %d does not exist on this Redis", n)
	for _, args := range [][]string{
		{"worker", "-c", cfg},
		{"scheduler", "-c", cfg},
		{"api", "-c", cfg},
		{"serve", "-c", cfg},
		{"status", "-c", cfg},
		{"poll", "-c", cfg, "--page", "123", "--dry-run"},
		{"enqueue", "-c", cfg, "--page", "123", "--comment", "1_2", "--text", "hi"},
		{"demo", "--once", "--addr", "127.0.0.1:0", "--redis", url},
	} {
		t.Run(args[0], func(t *testing.T) {
			p := start(t, args...)
			// A role that does not see the mistake runs on: give up at 15 s.
			code := p.wait(t, 15*time.Second)
			errOut := p.stderr.String()
			want := want
			if args[0] == "demo" { // the demo's Redis is its --redis flag, not a redis.url the user wrote
				want = fmt.Sprintf("--redis: database %d does not exist on this Redis", n)
			}
			if code != exitUsage || !strings.Contains(errOut, want) || strings.Contains(errOut, "is Redis at") {
				t.Errorf("exit %d, want %d with %q:\n%s", code, exitUsage, want, errOut)
			}
		})
	}

	t.Run("sentinel", func(t *testing.T) {
		s := redisproc.StartSentinel(t)
		cfg := write(fmt.Sprintf("  sentinel:\n    master: %s\n    addrs: [%s]\n    db: %d\n",
			s.MasterName(), strings.Join(s.SentinelAddrs(), ", "), n))
		want := fmt.Sprintf("redis.sentinel.db: database %d does not exist on this Redis", n)
		for _, args := range [][]string{{"worker", "-c", cfg}, {"status", "-c", cfg}} {
			p := start(t, args...)
			code := p.wait(t, 15*time.Second)
			if errOut := p.stderr.String(); code != exitUsage || !strings.Contains(errOut, want) {
				t.Errorf("%s: exit %d, want %d with %q:\n%s", args[0], code, exitUsage, want, errOut)
			}
		}
	})

	// A Redis in cluster mode has database 0 only, and refuses SELECT.
	t.Run("cluster mode", func(t *testing.T) {
		rs := redisproc.Start(t, redisproc.Options{Args: []string{"--cluster-enabled", "yes"}})
		cfg := write("  url: " + rs.URL(1) + "\n")
		want := "redis.url: database 1: this Redis runs in cluster mode"
		for _, args := range [][]string{{"worker", "-c", cfg}, {"enqueue", "-c", cfg, "--page", "123", "--comment", "1_2", "--text", "hi"}} {
			p := start(t, args...)
			code := p.wait(t, 15*time.Second)
			if errOut := p.stderr.String(); code != exitUsage || !strings.Contains(errOut, want) {
				t.Errorf("%s: exit %d, want %d with %q:\n%s", args[0], code, exitUsage, want, errOut)
			}
		}
	})
}

// lineWith is the first line of log that holds s ("" if none).
func lineWith(log, s string) string {
	for l := range strings.Lines(log) {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}
