// Package proctest runs the pagereply binary as real processes for tests: it
// builds the binary once per test binary, starts processes with their output
// in log files under t.TempDir, kills them (SIGKILL), stops them (SIGTERM) and
// restarts them with the same arguments, and dumps the tail of every log when
// the test fails. It also finds free loopback ports and writes pagereply
// configuration files (config.go).
//
// A test package that uses it runs its tests through Main, which removes the
// built binaries at the end:
//
//	func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }
package proctest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Package is the import path of the pagereply command.
const Package = "github.com/pagereply/pagereply/cmd/pagereply"

// BuildOptions says which binary Binary builds.
type BuildOptions struct {
	// Package is the main package's import path; if empty, Package.
	Package string
	// Race builds the binary with the race detector (slower processes).
	Race bool
}

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[BuildOptions]string{}
)

// Main runs the tests of m and removes the binaries Binary built; it returns
// the exit code for os.Exit.
func Main(m *testing.M) int {
	code := m.Run()
	buildMu.Lock()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	buildMu.Unlock()
	return code
}

// Binary returns the path of the binary of opts, built on first use and
// shared by every later call of the test binary. A failed build fails t.
func Binary(t testing.TB, opts BuildOptions) string {
	t.Helper()
	if opts.Package == "" {
		opts.Package = Package
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[opts]; ok {
		return p
	}
	if buildDir == "" {
		dir, err := os.MkdirTemp("", "pagereply-proctest-bin")
		if err != nil {
			t.Fatalf("proctest: build directory: %v", err)
		}
		buildDir = dir
	}
	out := filepath.Join(buildDir, fmt.Sprintf("%s-%d", filepath.Base(opts.Package), len(built)))
	args := []string{"build", "-o", out}
	if opts.Race {
		args = append(args, "-race")
	}
	args = append(args, opts.Package)
	began := time.Now()
	b, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("proctest: go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	t.Logf("proctest: built %s in %s", opts.Package, time.Since(began).Round(time.Millisecond))
	built[opts] = out
	return out
}

// FreeAddr returns a 127.0.0.1:port address that nothing listens on now.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proctest: find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Proc is a process started by Start. Its output (stdout and stderr) goes to
// one log file, kept across restarts, each run headed by a marker line. Its
// methods are safe for concurrent use, so a chaos goroutine may kill and
// restart it while the test reads its log.
type Proc struct {
	name    string
	bin     string
	args    []string
	env     []string
	logPath string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	code   int
	starts int
	kills  int
}

// tailLines is how much of each log a failed test prints.
const tailLines = 40

// Start starts bin with args as a process named name (for messages and its
// log file's name, which must be unique in the test) and returns at once. The
// environment is the test's, with PAGEREPLY_CONFIG cleared, plus env. In t's
// cleanup the process is killed if it still runs, and when t failed the tail
// of its log is printed and the whole log copied to a directory that outlives
// the test (named in the output).
func Start(t testing.TB, bin, name string, env []string, args ...string) *Proc {
	t.Helper()
	p := &Proc{name: name, bin: bin, args: args, logPath: filepath.Join(logDir(t), safeName(name)+".log"),
		env: append(append(os.Environ(), "PAGEREPLY_CONFIG="), env...)}
	if err := p.start(); err != nil {
		t.Fatalf("proctest: %v", err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("proctest: %s (%d runs, %d killed), last %d lines of %s:\n%s", p.name, p.Starts(), p.Kills(),
				tailLines, p.logPath, Tail(p.Log(), tailLines))
			keepLog(t, p.logPath)
		}
	})
	return p
}

var (
	logDirsMu sync.Mutex
	logDirs   = map[testing.TB]string{}
)

// logDir returns one temporary directory per test for the process logs.
func logDir(t testing.TB) string {
	logDirsMu.Lock()
	defer logDirsMu.Unlock()
	if d, ok := logDirs[t]; ok {
		return d
	}
	d := t.TempDir()
	logDirs[t] = d
	t.Cleanup(func() {
		logDirsMu.Lock()
		delete(logDirs, t)
		logDirsMu.Unlock()
	})
	return d
}

var (
	keptMu sync.Mutex
	kept   = map[testing.TB]string{}
)

// keepLog copies a failed test's log out of t.TempDir, which is removed.
func keepLog(t testing.TB, path string) {
	keptMu.Lock()
	defer keptMu.Unlock()
	dir, ok := kept[t]
	if !ok {
		var err error
		dir, err = os.MkdirTemp("", "pagereply-proctest-logs-"+safeName(t.Name())+"-")
		if err != nil {
			t.Logf("proctest: keep logs: %v", err)
			return
		}
		kept[t] = dir
		t.Logf("proctest: the processes' logs are kept in %s", dir)
	}
	b, err := os.ReadFile(path)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o600)
	}
	if err != nil {
		t.Logf("proctest: keep %s: %v", path, err)
	}
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}

// start runs the process once more, appending to its log.
func (p *Proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return fmt.Errorf("start %s: already running (pid %d)", p.name, p.cmd.Process.Pid)
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start %s: open log: %w", p.name, err)
	}
	defer f.Close() // the child keeps its own descriptor
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	DieWithParent(cmd)
	// The same *os.File for both: the child writes to it directly, so nothing
	// is lost when it is killed and no copying goroutine outlives it.
	cmd.Stdout, cmd.Stderr = f, f
	fmt.Fprintf(f, "=== proctest: %s run %d at %s: %s\n", p.name, p.starts+1, time.Now().Format(time.RFC3339Nano), strings.Join(p.args, " "))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	p.starts++
	go func() {
		_ = cmd.Wait()
		p.mu.Lock()
		p.code = cmd.ProcessState.ExitCode()
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

func (p *Proc) runningLocked() bool {
	if p.cmd == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Name returns the process's name.
func (p *Proc) Name() string { return p.name }

// LogPath returns the path of its log file.
func (p *Proc) LogPath() string { return p.logPath }

// Pid returns the process id of the current (or last) run.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.Process.Pid
}

// Starts returns how many times it was started.
func (p *Proc) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// Kills returns how many times Kill stopped it.
func (p *Proc) Kills() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kills
}

// Running reports whether the current run has not exited.
func (p *Proc) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runningLocked()
}

// Done returns a channel closed when the current run exits.
func (p *Proc) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Alive returns nil while the current run has not exited, else an error with
// its exit code and the tail of its log: for a process that must not exit.
func (p *Proc) Alive() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.runningLocked() {
		return nil
	}
	return fmt.Errorf("%s exited with code %d; last lines of its log:\n%s", p.name, p.code, Tail(p.logLocked(), tailLines))
}

// Kill kills the current run with SIGKILL and waits until it is gone. It does
// nothing when the process is not running.
func (p *Proc) Kill() {
	p.mu.Lock()
	if !p.runningLocked() {
		p.mu.Unlock()
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.kills++
	done := p.done
	p.mu.Unlock()
	<-done
}

// ErrStillRunning is returned by Stop when the process outlived its wait.
var ErrStillRunning = errors.New("proctest: still running after SIGTERM")

// Stop sends SIGTERM and waits up to d for the process to exit, returning its
// exit code. After d it kills the process and returns ErrStillRunning. A
// process that is not running returns its last exit code.
func (p *Proc) Stop(d time.Duration) (int, error) {
	p.mu.Lock()
	if !p.runningLocked() {
		defer p.mu.Unlock()
		return p.code, nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := p.done
	p.mu.Unlock()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.code, nil
	case <-time.After(d):
		p.Kill()
		return -1, fmt.Errorf("%s: %w (%s)", p.name, ErrStillRunning, d)
	}
}

// Restart starts the process again with the same arguments; it must not be
// running.
func (p *Proc) Restart() error {
	return p.start()
}

// Log returns the whole log of every run so far.
func (p *Proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logLocked()
}

func (p *Proc) logLocked() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", p.logPath, err)
	}
	return string(b)
}

// Lines calls fn for each line of the log, in order, until fn returns false.
func (p *Proc) Lines(fn func(line []byte) bool) error {
	f, err := os.Open(p.logPath)
	if err != nil {
		return fmt.Errorf("read log of %s: %w", p.name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if !fn(sc.Bytes()) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read log of %s: %w", p.name, err)
	}
	return nil
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Result is what Run returns.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Run runs bin with args to completion (at most d, else it is killed and t
// fails) with PAGEREPLY_CONFIG cleared, and returns its outputs and exit code.
func Run(t testing.TB, bin string, d time.Duration, args ...string) Result {
	t.Helper()
	res, err := Exec(bin, d, args...)
	if err != nil {
		t.Fatalf("proctest: %v", err)
	}
	return res
}

// Exec is Run without a testing.TB, for goroutines: it returns an error when
// the process cannot start or outlives d (then it is killed).
func Exec(bin string, d time.Duration, args ...string) (Result, error) {
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PAGEREPLY_CONFIG=")
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("run %s: %w", strings.Join(args, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return Result{}, fmt.Errorf("run %s: %w", strings.Join(args, " "), err)
		}
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return Result{}, fmt.Errorf("%s still running after %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), d,
			Tail(out.String(), tailLines), Tail(errOut.String(), tailLines))
	}
	return Result{Stdout: out.String(), Stderr: errOut.String(), Code: cmd.ProcessState.ExitCode()}, nil
}

// WaitFor calls cond every 50ms until it returns true or d has passed; it
// returns an error naming what was awaited on a timeout.
func WaitFor(d time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
