//go:build !linux

package proctest

import "os/exec"

// DieWithParent does nothing where there is no parent-death signal: a test
// binary killed by its timeout may leave its processes running.
func DieWithParent(*exec.Cmd) {}

// PidRunning is false where processes are not looked up (the tests that use
// it run on Linux only).
func PidRunning(int) bool { return false }
