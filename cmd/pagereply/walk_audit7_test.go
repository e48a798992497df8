package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCheckSummaryOnePageAudit7: check's summary counts Pages in words a
// reader expects: the README's own walkthrough (one sandbox Page) printed
// "valid; 1 Pages"; two Pages stay "2 Pages".
func TestCheckSummaryOnePageAudit7(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AUDIT7_TOKEN", "EAABaudit7pagetoken")
	t.Setenv("AUDIT7_API", "0123456789abcdef0123456789abcdef")
	page := func(id string) string {
		return "  - id: \"" + id + "\"\n    access_token: ${AUDIT7_TOKEN}\n    default_text: \"hi\"\n"
	}
	head := "redis:\n  url: redis://" + freeAddr(t) + "/3\napi:\n  tokens: [\"${AUDIT7_API}\"]\npages:\n"
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"one.yaml", head + page("11"), ": valid; 1 Page, Redis "},
		{"two.yaml", head + page("11") + page("22"), ": valid; 2 Pages, Redis "},
	} {
		path := filepath.Join(dir, tc.name)
		if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runInProcess(t, nil, "check", "-c", path)
		if code != exitOK || !strings.Contains(out, path+tc.want) {
			t.Errorf("check -c %s: exit %d, want a line with %q:\n%s%s", tc.name, code, path+tc.want, out, errOut)
		}
	}
}

// TestEnqueueHelpExitCodesAudit7: enqueue -h names every case that exits 1
// with nothing done (a target Graph refused for good exits 1, as
// TestEnqueueAudit shows, and -h did not say so) and every input refused
// with exit 2 (a text holding a configured secret included).
func TestEnqueueHelpExitCodesAudit7(t *testing.T) {
	out, errOut, code := runInProcess(t, nil, "enqueue", "-h")
	help := out + errOut
	if code != exitOK {
		t.Fatalf("enqueue -h: exit %d\n%s", code, help)
	}
	for _, want := range []string{"Graph refused it for good", "a text holding one of the configuration's secrets"} {
		if !strings.Contains(help, want) {
			t.Errorf("enqueue -h does not say %q:\n%s", want, help)
		}
	}
}

// TestCheckManySecretsInFileOneLine: an agency config with every Page's
// token written in the file gets a warning line for the first ten and one
// line counting the rest, not a line per Page; no token is printed.
func TestCheckManySecretsInFileOneLine(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AUDIT7_API", "0123456789abcdef0123456789abcdef")
	var b strings.Builder
	b.WriteString("redis:\n  url: redis://" + freeAddr(t) + "/3\napi:\n  tokens: [\"${AUDIT7_API}\"]\npages:\n")
	for i := range 30 {
		b.WriteString("  - id: \"" + strconv.Itoa(100+i) + "\"\n    access_token: \"EAABaudit7tok" + strconv.Itoa(1000+i) + "\"\n    default_text: \"hi\"\n")
	}
	path := filepath.Join(dir, "many.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runInProcess(t, nil, "check", "-c", path)
	if code != exitOK {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	if n := strings.Count(out, "is a secret written in the file"); n != 10 {
		t.Errorf("%d lines of a secret each, want 10:\n%s", n, out)
	}
	if !strings.Contains(out, "warning: 20 more secrets are written in the file (pages[10].access_token … pages[29].access_token)") {
		t.Errorf("no line counting the other 20:\n%s", out)
	}
	if strings.Contains(out+errOut, "EAABaudit7tok") {
		t.Errorf("check printed a token:\n%s%s", out, errOut)
	}
}
