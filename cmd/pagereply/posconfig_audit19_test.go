package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigAsArgumentSaysDashC_audit19: `pagereply check pagereply.yaml`
// (the file given as an argument, as many tools take it, flags after it or
// not) said only `unexpected argument "pagereply.yaml"`, leaving the new
// user to find -c in the usage. A command that takes -c now says to give
// the file with it, when none was; other stray arguments keep their words.
func TestConfigAsArgumentSaysDashC_audit19(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "my.conf")
	if err := os.WriteFile(conf, []byte("pages: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		hint bool
	}{
		{[]string{"check", "pagereply.yaml"}, true},
		{[]string{"serve", "pagereply.yml", "--roles", "worker"}, true},
		{[]string{"status", conf}, true}, // an existing file, whatever its name
		{[]string{"poll", "--page", "1", "pagereply.yaml"}, true},
		{[]string{"check", "-c", conf, "other.yaml"}, false}, // -c given: a stray argument
		{[]string{"check", "extra"}, false},
		{[]string{"version", "pagereply.yaml"}, false}, // no -c to give
	} {
		_, stderr, code := runInProcess(t, nil, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, "unexpected argument") {
			t.Errorf("%v: exit %d, want %d with the unexpected argument named\n%s", tc.args, code, exitUsage, stderr)
		}
		if got := strings.Contains(stderr, "give the configuration file with -c"); got != tc.hint {
			t.Errorf("%v: hint to use -c %v, want %v\n%s", tc.args, got, tc.hint, stderr)
		}
	}
}
