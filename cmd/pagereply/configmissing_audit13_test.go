package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigMissingHint_audit13: every command that takes -c, given a path
// with no file, exits 2 naming the file as every other problem with it is
// named ("pagereply CMD: config FILE: "), and says what to do: give -c the
// path of the configuration, or start one from pagereply.example.yaml.
// Before the fix it said "config: open FILE: no such file or directory"
// alone. deploy/README.md quotes the line of a file that cannot be read.
func TestConfigMissingHint_audit13(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "pagereply.yaml")
	for _, args := range [][]string{
		{"serve"}, {"api"}, {"worker"}, {"scheduler"}, {"check"}, {"status"},
		{"poll", "--page", "1"}, {"resume", "--page", "1"},
		{"enqueue", "--page", "1", "--comment", "1_2", "--text", "hi"},
	} {
		_, errOut, code := runInProcess(t, nil, append(args, "-c", missing)...)
		first, _, _ := strings.Cut(errOut, "\n")
		if code != exitUsage || first != "pagereply "+args[0]+": config "+missing+": no such file or directory" ||
			!strings.Contains(errOut, "give -c the path") || !strings.Contains(errOut, "pagereply.example.yaml") ||
			strings.Contains(errOut, "PAGEREPLY_CONFIG") {
			t.Errorf("%s -c of a missing file: exit %d, want %d, the file named as config's and a hint\n%s", args[0], code, exitUsage, errOut)
		}
	}
	readme, err := os.ReadFile("../../deploy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "`config /etc/pagereply/pagereply.yaml: permission denied`") {
		t.Error("deploy/README.md does not quote the line of a configuration file that cannot be read as pagereply writes it")
	}
}
