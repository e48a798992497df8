package main

import (
	"strings"
	"testing"
)

// TestConfigDirectorySaysFile_audit19: a directory where the configuration
// file should be (what docker run -v makes of a file the host lacks) is
// refused (exit 2) with what to do, and, given by PAGEREPLY_CONFIG, with
// where the path came from.
func TestConfigDirectorySaysFile_audit19(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := runInProcess(t, nil, "check", "-c", dir)
	if code != exitUsage || !strings.Contains(errOut, "is a directory") || !strings.Contains(errOut, "give the configuration file itself") || strings.Contains(errOut, "PAGEREPLY_CONFIG") {
		t.Errorf("check -c DIR: exit %d\n%s", code, errOut)
	}
	_, errOut, code = runInProcess(t, map[string]string{"PAGEREPLY_CONFIG": dir}, "check")
	if code != exitUsage || !strings.Contains(errOut, "that path is PAGEREPLY_CONFIG's: give the configuration file itself") {
		t.Errorf("PAGEREPLY_CONFIG=DIR check: exit %d\n%s", code, errOut)
	}
}
