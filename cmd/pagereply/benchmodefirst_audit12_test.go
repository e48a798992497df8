package main

import (
	"strings"
	"testing"
)

// TestBenchFlagBeforeMode_audit12: flags given before bench's mode are
// refused (exit 2) saying the mode comes first, naming the mode when it
// follows them, never echoing the --redis URL (it may hold a password);
// nothing on stdout.
func TestBenchFlagBeforeMode_audit12(t *testing.T) {
	const url = "redis://user:s3cret@127.0.0.1:7/15"
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--redis", url}, "give the mode first: pagereply bench <mode> --redis URL"},
		{[]string{"bench", "--redis", url, "pipeline", "-n", "5"}, "give the mode first: pagereply bench pipeline --redis URL"},
		{[]string{"bench", "-n", "5", "latency"}, "give the mode first: pagereply bench latency"},
	} {
		out, errOut, code := runInProcess(t, nil, c.args...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "pagereply bench: "+c.want) || strings.Contains(errOut, "s3cret") {
			t.Errorf("%v: exit %d, want %d saying %q\nstdout %q\nstderr %q", c.args, code, exitUsage, c.want, out, errOut)
		}
	}
	// A mode that is no mode is still named as unknown.
	if _, errOut, code := runInProcess(t, nil, "bench", "pipe"); code != exitUsage || !strings.Contains(errOut, `unknown mode "pipe"`) {
		t.Errorf("bench pipe: exit %d, stderr %q", code, errOut)
	}
}
