package main

import (
	"strings"
	"testing"
)

// TestBenchRedisBareHostPort_audit13: bench --redis given a bare host:port
// (127.0.0.1:6379, as redis-cli takes it) says the form to write,
// redis://host:port/db, as config's redis.url does, not "not a valid URL"
// alone; exit 2, naming --redis, nothing on stdout, the value not echoed.
func TestBenchRedisBareHostPort_audit13(t *testing.T) {
	for _, mode := range []string{"pipeline", "latency", "all"} {
		for _, u := range []string{"127.0.0.1:1", "localhost:1", "default:s3cretpw@127.0.0.1:1"} {
			out, errOut, code := runInProcess(t, nil, "bench", mode, "--redis", u)
			if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "pagereply bench "+mode+": --redis: ") || !strings.Contains(errOut, "redis://host:port/db") {
				t.Errorf("bench %s --redis %s: exit %d, want %d with the form redis://host:port/db\nstdout %q\nstderr %q", mode, u, code, exitUsage, out, errOut)
			}
			if strings.Contains(errOut, "s3cretpw") {
				t.Errorf("bench %s: the URL's password is echoed: %q", mode, errOut)
			}
		}
	}
}
