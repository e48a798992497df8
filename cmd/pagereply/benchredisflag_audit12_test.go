package main

import (
	"strings"
	"testing"
)

// TestBenchRedisErrorNamesFlag_audit12: a bench --redis that is no Redis URL
// is refused (exit 2) naming the --redis flag the user gave, not redis.url,
// a config key bench has none of, in every mode; nothing on stdout.
func TestBenchRedisErrorNamesFlag_audit12(t *testing.T) {
	for _, mode := range append([]string{"pipeline"}, benchAllOrder...) {
		for _, u := range []string{"127.0.0.1:6379", "http://127.0.0.1:6379/0", "redis://127.0.0.1:6379/x"} {
			out, errOut, code := runInProcess(t, nil, "bench", mode, "--redis", u)
			if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "pagereply bench "+mode+": --redis: ") || strings.Contains(errOut, "redis.url") {
				t.Errorf("bench %s --redis %s: exit %d, want %d naming --redis alone\nstdout %q\nstderr %q", mode, u, code, exitUsage, out, errOut)
			}
		}
	}
}
