package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnknownPageNamesConfiguredIDs_audit22: a --page that is none of the
// configuration's Pages (a digit mistyped) was answered "--page 999 is not
// in the configuration's pages", leaving the user to open the file for the
// ids it takes. poll, resume and enqueue now name them, the first five of
// many and how many more.
func TestUnknownPageNamesConfiguredIDs_audit22(t *testing.T) {
	var yaml strings.Builder
	yaml.WriteString("redis:\n  url: redis://127.0.0.1:1/0\npages:\n")
	for i := 1; i <= 7; i++ {
		fmt.Fprintf(&yaml, "  - id: \"10%d\"\n    access_token: \"EAABtokentoken%d\"\n", i, i)
	}
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	if err := os.WriteFile(cfg, []byte(yaml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	want := "--page 999 is not in the configuration's pages; give the id of one of them (pages[].id): 101, 102, 103, 104, 105 and 2 more"
	for _, args := range [][]string{
		{"poll", "-c", cfg, "--page", "999"},
		{"resume", "-c", cfg, "--page", "999"},
		{"enqueue", "-c", cfg, "--page", "999", "--comment", "1_2", "--text", "hi"},
	} {
		_, errOut, code := runInProcess(t, nil, args...)
		if code != exitUsage || !strings.Contains(errOut, want) || strings.Contains(errOut, "EAABtokentoken") {
			t.Errorf("%s --page 999: exit %d, %q; want exit 2 and %q", args[0], code, errOut, want)
		}
	}
}
