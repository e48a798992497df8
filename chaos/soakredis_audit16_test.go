//go:build soak

package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/proctest"
)

// TestSoakRedisDiesWithParent_audit16: the soak's own redis-server is
// killed when the test binary that started it dies without its cleanups
// (go test's -timeout panics so, and the soak's 12 minutes are past go
// test's default 10): it was left running on -soak.port, its AOF in a temp
// directory no one removes. Here the parent starts it (on -soak.port + 1)
// and exits at once.
func TestSoakRedisDiesWithParent_audit16(t *testing.T) {
	if os.Getenv("SOAK_PDEATH_PARENT") != "" {
		port, _ := strconv.Atoi(os.Getenv("SOAK_PDEATH_PARENT"))
		rs := &soakRedis{port: port, dir: os.Getenv("SOAK_PDEATH_DIR")}
		if err := rs.start(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(rs.cmd.Process.Pid)
		os.Exit(0)
	}
	if *soakPort == 0 {
		t.Skip("-soak.port not set")
	}
	if runtime.GOOS != "linux" {
		t.Skip("no parent-death signal here")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	port := *soakPort + 1
	parent := exec.Command(os.Args[0], "-test.run=^TestSoakRedisDiesWithParent_audit16$", "-test.count=1")
	parent.Env = append(os.Environ(), "SOAK_PDEATH_PARENT="+strconv.Itoa(port), "SOAK_PDEATH_DIR="+t.TempDir())
	out, err := parent.Output()
	if err != nil {
		t.Fatalf("parent: %v (%q)", err, out)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("parent's output %q: %v", out, err)
	}
	alive := func() bool { return proctest.PidRunning(pid) }
	if err := proctest.WaitFor(10*time.Second, "the soak's redis-server's death", func() bool { return !alive() }); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the soak's redis-server (pid %d, port %d) outlived the test binary that started it: %v", pid, port, err)
	}
}
