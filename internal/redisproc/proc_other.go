//go:build !linux

package redisproc

import (
	"os/exec"
	"syscall"
)

// termSignal asks redis-server to shut down cleanly.
var termSignal = syscall.SIGTERM

func setProcAttr(*exec.Cmd) {}
