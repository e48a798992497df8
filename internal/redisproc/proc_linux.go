//go:build linux

package redisproc

import (
	"os/exec"
	"syscall"
)

// setProcAttr kills the server when the test binary dies, so a crashed or
// interrupted test leaves no redis-server behind.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
