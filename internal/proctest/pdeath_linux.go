//go:build linux

package proctest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// DieWithParent has cmd's process killed (SIGKILL) when the test binary that
// starts it dies: a test binary killed by its -timeout panics without running
// its cleanups, and a worker or server it left running would go on taking
// tasks from a test database of the shared Redis. (Linux only: elsewhere it
// does nothing.)
func DieWithParent(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// PidRunning reports whether process pid runs: false when it is gone, or a
// zombie waiting to be reaped (a child its dead parent left).
func PidRunning(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	defer f.Close()
	r := bufio.NewReader(f)
	stat, _ := r.ReadString(')') // "<pid> (<name>)", then the state
	var state string
	fmt.Fscan(r, &state)
	return stat != "" && state != "Z" && state != "X"
}
