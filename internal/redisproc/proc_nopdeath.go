//go:build unix && !linux

package redisproc

import "os/exec"

// setProcAttr does nothing where there is no parent-death signal: an
// interrupted test binary may leave its servers running.
func setProcAttr(*exec.Cmd) {}
