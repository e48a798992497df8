//go:build !linux

package proctest

import "os/exec"

// DieWithParent does nothing where there is no parent-death signal: a test
// binary killed by its timeout may leave its processes running.
func DieWithParent(*exec.Cmd) {}
