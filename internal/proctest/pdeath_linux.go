//go:build linux

package proctest

import (
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
