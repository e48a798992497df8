//go:build unix

package redisproc

import "syscall"

// Signals: SIGTERM asks redis-server to shut down cleanly; SIGSTOP and
// SIGCONT freeze and thaw it (Pause, Resume).
var (
	termSignal = syscall.SIGTERM
	stopSignal = syscall.SIGSTOP
	contSignal = syscall.SIGCONT
)
