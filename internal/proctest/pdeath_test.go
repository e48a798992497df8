package proctest

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
)

// TestDieWithParent: a process started with DieWithParent is killed when
// the process that started it dies without cleaning up (here it exits at
// once; a test binary's timeout panic is the same), instead of running on.
func TestDieWithParent(t *testing.T) {
	if os.Getenv("PROCTEST_PDEATH_PARENT") == "1" {
		// The parent: start the child, say its pid, and die.
		cmd := exec.Command("sleep", "60")
		DieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(cmd.Process.Pid)
		os.Exit(0)
	}
	if runtime.GOOS != "linux" {
		t.Skip("no parent-death signal here")
	}
	parent := exec.Command(os.Args[0], "-test.run=^TestDieWithParent$", "-test.count=1")
	parent.Env = append(os.Environ(), "PROCTEST_PDEATH_PARENT=1")
	out, err := parent.Output()
	if err != nil {
		t.Fatalf("parent: %v (%q)", err, out)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("parent's output %q: %v", out, err)
	}
	alive := func() bool { return PidRunning(pid) }
	if err := WaitFor(10*time.Second, "the child's death", func() bool { return !alive() }); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("the child (pid %d) outlived its parent: %v", pid, err)
	}
}
