package main

import (
	"strings"
	"testing"
)

// TestSandboxRangeSaysTheRange_audit13: a sandbox flag out of range is
// refused (exit 2) saying the range it takes: "--pages: 0 is out of range"
// alone left the user to guess it.
func TestSandboxRangeSaysTheRange_audit13(t *testing.T) {
	for _, tc := range []struct{ flag, value, want string }{
		{"--pages", "0", "--pages: 0 is out of range: at least 1"},
		{"--posts", "-1", "--posts: -1 is out of range: at least 0"},
		{"--rate", "-1", "--rate: -1 is out of range: at least 0 (0: unlimited)"},
		{"--fail", "2", "--fail: 2 is out of range: a share from 0 to 1"},
		{"--drop", "-0.5", "--drop: -0.5 is out of range: a share from 0 to 1"},
		{"--block", "0s", "--block: 0s is out of range: more than 0"},
		{"--latency", "-1s", "--latency: -1s is out of range: at least 0"},
	} {
		_, errOut, code := runInProcess(t, nil, "sandbox", "--addr", "127.0.0.1:0", tc.flag, tc.value)
		if code != exitUsage || !strings.Contains(errOut, "pagereply sandbox: "+tc.want) {
			t.Errorf("sandbox %s %s: exit %d, want %d and %q\n%s", tc.flag, tc.value, code, exitUsage, tc.want, errOut)
		}
	}
}
