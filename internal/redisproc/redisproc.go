// Package redisproc runs real redis-server processes for tests: a single server
// (optionally with an append-only file, to restart it with its data), a Redis
// Cluster and a Sentinel set-up, each on free loopback ports in a temporary
// directory, all killed and removed when the test ends.
//
// Without redis-server (and redis-cli, for a Cluster) on PATH the test is
// skipped, unless CI is set: then it fails, as in internal/redistest.
package redisproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/proctest"
)

// StartTimeout bounds how long a server may take to answer PING after it is
// started or restarted (loading a large AOF included).
const StartTimeout = 30 * time.Second

// Options configures a server started by Start.
type Options struct {
	// AOF turns on the append-only file with appendfsync always, so every write
	// acknowledged to a client survives Kill and comes back on Restart.
	// If false, the server keeps nothing on disk.
	AOF bool
	// Args are extra redis-server arguments ("--maxmemory", "10mb", ...), given
	// after the defaults, so they override them.
	Args []string
}

// Server is one redis-server process on a loopback port. Its port and data
// directory stay the same across Restart.
type Server struct {
	t    testing.TB
	bin  string
	port int
	dir  string
	args []string
	// conf, when set, is the config file given first (Sentinel needs one it
	// can rewrite).
	conf string
	// bus reserves port+10000 too (a Cluster node's bus port) when picking a port.
	bus bool

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	clients []*redis.Client
}

// lookPath finds a binary the tests need, or skips t (fails it under CI).
func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("redisproc: %s not found on PATH (install the redis-server package): %v", name, err)
	}
	t.Skipf("redisproc: %s not found on PATH (install the redis-server package to run this test): %v", name, err)
	return ""
}

// Start starts a redis-server on a free loopback port, waits until it answers
// PING, and kills it in t's cleanup. It skips t when redis-server is missing
// (fails it under CI).
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	return startServer(t, opt, "", false)
}

// startServer starts a data node, or a Sentinel when conf is set.
func startServer(t testing.TB, opt Options, conf string, bus bool) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server")
	dir := t.TempDir()
	s := &Server{t: t, bin: bin, dir: dir, bus: bus}
	if conf != "" {
		s.conf = filepath.Join(dir, "sentinel.conf")
		if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
			t.Fatalf("redisproc: write %s: %v", s.conf, err)
		}
		s.args = append([]string{
			"--sentinel",
			"--bind", "127.0.0.1",
			"--protected-mode", "no",
			"--daemonize", "no",
			"--dir", dir,
			"--logfile", "redis.log",
		}, opt.Args...)
		t.Cleanup(s.cleanup)
		s.startOnFreePort()
		return s
	}
	s.args = []string{
		"--bind", "127.0.0.1",
		"--protected-mode", "no",
		"--daemonize", "no",
		"--dir", dir,
		"--logfile", "redis.log",
		"--save", "",
		"--maxmemory-policy", "noeviction",
	}
	if opt.AOF {
		s.args = append(s.args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		s.args = append(s.args, "--appendonly", "no")
	}
	s.args = append(s.args, opt.Args...)
	t.Cleanup(s.cleanup)
	s.startOnFreePort()
	return s
}

// startOnFreePort picks a port and starts the server there. A free port can be
// taken between the probe and redis-server's bind, so it tries a few.
func (s *Server) startOnFreePort() {
	s.t.Helper()
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if s.port, err = freePort(s.bus); err != nil {
			s.t.Fatalf("redisproc: %v", err)
		}
		if err = s.start(); err == nil {
			return
		}
	}
	s.t.Fatalf("redisproc: start redis-server: %v", err)
}

// freePort returns a free port; with bus, one whose port+10000 (a Cluster
// node's bus port) is free and valid too.
func freePort(bus bool) (int, error) {
	for attempt := 0; attempt < 100; attempt++ {
		p, err := FreePort()
		if err != nil || !bus {
			return p, err
		}
		if p+10000 > 65535 {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		if err != nil {
			continue
		}
		_ = l.Close()
		return p, nil
	}
	return 0, errors.New("find a free port pair (port, port+10000) on 127.0.0.1")
}

// FreePort returns a TCP port on 127.0.0.1 that nothing listens on right now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Port returns the server's port.
func (s *Server) Port() int { return s.port }

// Dir returns the server's data directory (its log is redis.log there).
func (s *Server) Dir() string { return s.dir }

// URL returns the server as a redis:// URL for database db.
func (s *Server) URL(db int) string { return fmt.Sprintf("redis://%s/%d", s.Addr(), db) }

// Client returns a new client of the server, closed in t's cleanup. It keeps
// working across Restart (go-redis reconnects).
func (s *Server) Client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1})
	s.mu.Lock()
	s.clients = append(s.clients, c)
	s.mu.Unlock()
	return c
}

// Running reports whether the process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runningLocked()
}

func (s *Server) runningLocked() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// FailSnapshot makes the server's snapshots fail (its directory is removed),
// starts one and waits until it has failed: under
// stop-writes-on-bgsave-error the server then refuses writes with MISCONF.
func (s *Server) FailSnapshot() {
	s.t.Helper()
	ctx := context.Background()
	if err := os.RemoveAll(s.Dir()); err != nil {
		s.t.Fatal(err)
	}
	admin := s.Client()
	if err := admin.BgSave(ctx).Err(); err != nil {
		s.t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		info, err := admin.Info(ctx, "persistence").Result()
		if err != nil {
			s.t.Fatal(err)
		}
		if strings.Contains(info, "rdb_last_bgsave_status:err") {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("redisproc: the snapshot of %s did not fail:\n%s", s.Addr(), info)
		}
	}
}

// Kill kills the server with SIGKILL and waits until the process is gone: no
// shutdown, no final save. A no-op when it is not running.
func (s *Server) Kill() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.killLocked()
}

func (s *Server) killLocked() {
	if !s.runningLocked() {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// Pause freezes the server with SIGSTOP: it holds its connections but answers
// nothing (a replica paused this way falls behind its master) until Resume.
func (s *Server) Pause() {
	s.t.Helper()
	s.signal(stopSignal, "SIGSTOP")
}

// Resume thaws a server frozen by Pause (SIGCONT).
func (s *Server) Resume() {
	s.t.Helper()
	s.signal(contSignal, "SIGCONT")
}

func (s *Server) signal(sig os.Signal, name string) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.runningLocked() {
		s.t.Fatalf("redisproc: %s to %s: not running", name, s.Addr())
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("redisproc: %s to %s: %v", name, s.Addr(), err)
	}
}

// Stop shuts the server down cleanly (SIGTERM: it finishes its AOF or
// snapshot) and waits until the process is gone. A no-op when it is not running.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.runningLocked() {
		return
	}
	_ = s.cmd.Process.Signal(contSignal) // a paused server cannot act on SIGTERM
	_ = s.cmd.Process.Signal(termSignal)
	select {
	case <-s.exited:
	case <-time.After(StartTimeout):
		s.t.Errorf("redisproc: %s did not stop within %s after SIGTERM; killing it", s.Addr(), StartTimeout)
		s.killLocked()
	}
}

// Restart starts the server again on the same port with the same directory
// (so an AOF brings its data back), stopping it first with SIGTERM if it is
// running, and waits until it answers PING. Use Kill first for a crash.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	var err error
	// The port may linger briefly after a kill: retry binding for a moment.
	for attempt := 0; attempt < 20; attempt++ {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	s.t.Fatalf("redisproc: restart redis-server on %s: %v", s.Addr(), err)
}

// start runs the process and waits until it answers PING (not LOADING).
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var args []string
	if s.conf != "" {
		args = append(args, s.conf)
	}
	args = append(append(args, "--port", strconv.Itoa(s.port)), s.args...)
	cmd := exec.Command(s.bin, args...)
	cmd.Dir = s.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	proctest.DieWithParent(cmd) // a crashed or interrupted test leaves no redis-server behind
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited = cmd, exited

	if err := waitPing(s.Addr(), exited); err != nil {
		s.killLocked()
		return fmt.Errorf("%w\n%s%s", err, out.String(), s.logTail())
	}
	return nil
}

// waitPing waits until addr answers PING with PONG, or the process exits.
func waitPing(addr string, exited <-chan struct{}) error {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(StartTimeout)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server on %s exited while starting", addr)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s did not answer PING within %s: %w", addr, StartTimeout, err)
}

// logTail returns the last lines of the server's log, for error messages.
func (s *Server) logTail() string {
	return tail(filepath.Join(s.dir, "redis.log"), 20)
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	if len(lines) == 0 {
		return ""
	}
	return "--- " + path + " ---\n" + strings.Join(lines, "\n") + "\n"
}

func (s *Server) cleanup() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.clients {
		_ = c.Close()
	}
	s.clients = nil
	s.killLocked()
	if s.t.Failed() {
		if l := s.logTail(); l != "" {
			s.t.Logf("redisproc: %s", l)
		}
	}
}

// OOMRefusals returns how many commands the server c talks to refused as over
// its maxmemory since it started (INFO errorstats, Redis 7).
func OOMRefusals(t testing.TB, c *redis.Client) int {
	t.Helper()
	info, err := c.Info(context.Background(), "errorstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "errorstat_OOM:count="); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("errorstats: %q", line)
			}
			return n
		}
	}
	return 0
}

// FillUntilRefused writes keys ("fill:<n>") to the server c talks to, which
// must run with a maxmemory under noeviction, until it refuses even a write
// of a few bytes as over its maxmemory (OOM), and returns how many keys it
// wrote. Big values first, then small ones: near the limit Redis refuses a
// big value (its query buffer counts) while a small write still fits.
func FillUntilRefused(t testing.TB, c *redis.Client) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for _, size := range []int{16 << 10, 512, 8} {
		v := strings.Repeat("x", size)
		for {
			err := c.Set(ctx, "fill:"+strconv.Itoa(n), v, 0).Err()
			if err == nil {
				n++
				if n > 1_000_000 {
					t.Fatal("redisproc: a million keys and no OOM: is maxmemory set?")
				}
				continue
			}
			if !redis.HasErrorPrefix(err, "OOM") {
				t.Fatalf("redisproc: fill: %v, want OOM", err)
			}
			break
		}
	}
	return n
}

// Room sets the maxmemory of the server c talks to at what it uses now plus
// extra bytes: a test's server started with a small --maxmemory may be over
// it already with its clients connected, before anything is written.
func Room(t testing.TB, c *redis.Client, extra int64) {
	t.Helper()
	ctx := context.Background()
	info, err := c.InfoMap(ctx, "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	used, err := strconv.ParseInt(info["Memory"]["used_memory"], 10, 64)
	if err != nil {
		t.Fatalf("redisproc: used_memory: %v", err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+extra, 10)).Err(); err != nil {
		t.Fatal(err)
	}
}
