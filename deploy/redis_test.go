package deploy_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisDirectives reads redis.conf's directives in order, and reports any
// directive that no comment explains.
func redisDirectives(t *testing.T, file string) [][2]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	commented := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
			commented = false
		case strings.HasPrefix(line, "#"):
			commented = true
		default:
			name, value, _ := strings.Cut(line, " ")
			if !commented {
				t.Errorf("%s:%d: %s has no comment saying why", file, n, name)
			}
			out = append(out, [2]string{strings.ToLower(name), strings.Trim(strings.TrimSpace(value), `"`)})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRedisConf starts redis-server the way compose.yaml does, with
// deploy/redis/redis.conf, and checks that Redis took every setting, in
// particular those pagereply cannot run safely without.
func TestRedisConf(t *testing.T) {
	directives := redisDirectives(t, "redis/redis.conf")
	want := map[string]string{"maxmemory-policy": "noeviction", "appendonly": "yes", "appendfsync": "everysec"}
	for _, d := range directives {
		if v, ok := want[d[0]]; ok {
			if d[1] != v {
				t.Errorf("redis.conf: %s %s, want %s", d[0], d[1], v)
			}
			delete(want, d[0])
		}
	}
	for k, v := range want {
		t.Errorf("redis.conf: no %s %s", k, v)
	}

	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed")
		}
		t.Skip("redis-server is not installed: cannot check that Redis accepts redis.conf")
	}
	c := loadCompose(t)
	args := commandOf(c.services["redis"]["command"])
	if len(args) < 2 || args[0] != "redis-server" {
		t.Fatalf("compose redis command %v", args)
	}
	args = args[1:]
	args[0] = mustAbs(t, "redis/redis.conf") // compose mounts it there (TestCompose checks)
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	// Here: a loopback port and a temporary directory instead of the container's.
	args = append(args, "--port", port, "--bind", "127.0.0.1", "--dir", dir, "--daemonize", "no", "--logfile", "redis.log")
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + port, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for rdb.Ping(ctx).Err() != nil {
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("redis-server %v exited: %s\n%s", args, cmd.ProcessState, log)
		case <-ctx.Done():
			t.Fatal("redis-server does not answer")
		case <-time.After(50 * time.Millisecond):
		}
	}
	for _, d := range directives {
		got, err := rdb.ConfigGet(ctx, d[0]).Result()
		if err != nil {
			t.Errorf("CONFIG GET %s: %v", d[0], err)
			continue
		}
		if v := got[d[0]]; normalizeRedis(v) != normalizeRedis(d[1]) {
			t.Errorf("redis.conf sets %s %q, Redis runs with %q", d[0], d[1], v)
		}
	}
}

// normalizeRedis turns a memory size ("1gb") into bytes and squeezes spaces,
// as CONFIG GET reports them.
func normalizeRedis(v string) string {
	v = strings.Join(strings.Fields(strings.ToLower(v)), " ")
	for _, u := range []struct {
		suffix string
		mul    int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			if i, err := strconv.ParseInt(n, 10, 64); err == nil {
				return strconv.FormatInt(i*u.mul, 10)
			}
		}
	}
	return v
}

func freePort(t *testing.T) int {
	t.Helper()
	addr := freeAddr(t)
	_, p, _ := strings.Cut(addr, ":")
	n, _ := strconv.Atoi(p)
	return n
}
