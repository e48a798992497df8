package main

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestBenchRedisFlagHints_audit13: bench's --redis messages say what to do,
// as the config's redis.url and the demo's --redis do: a bare host:port
// was "not a valid URL" alone, and a refused connection did not ask
// whether Redis is up. Neither echoes a password.
func TestBenchRedisFlagHints_audit13(t *testing.T) {
	_, errOut, code := run(t, "bench", "pipeline", "--redis", "127.0.0.1:6379")
	if code != exitUsage || !strings.Contains(errOut, "--redis: not a valid URL: write it as redis://host:port/db") {
		t.Errorf("bench --redis host:port: exit %d, want %d and the URL's form\n%s", code, exitUsage, errOut)
	}
	_, errOut, code = run(t, "bench", "pipeline", "--redis", "redis://:s3cret-pw@"+freeAddr(t)+"/15")
	if code != exitError || !strings.Contains(errOut, "(is Redis at redis://") || strings.Contains(errOut, "s3cret-pw") {
		t.Errorf("bench --redis refused: exit %d, want %d and whether Redis is up, no password\n%s", code, exitError, errOut)
	}
}

// TestDemoRedisNoSuchDatabase_audit13: the demo given a --redis database the
// server lacks says so in the flag's words: it named redis.url, a key of
// the configuration the demo generates, which the user never wrote.
func TestDemoRedisNoSuchDatabase_audit13(t *testing.T) {
	db := redistest.New(t)
	_, errOut, code := run(t, "demo", "--redis", "redis://"+db.Addr+"/999", "--addr", "127.0.0.1:0")
	if code != exitUsage || !strings.HasPrefix(errOut, "pagereply demo: --redis: database 999 does not exist") || strings.Contains(errOut, "redis.url") {
		t.Errorf("demo --redis with database 999: exit %d, want %d naming --redis, not redis.url\n%s", code, exitUsage, errOut)
	}
}
