package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckWarnsExampleLeftIn_audit19: README's "Against Meta" starts from
// `cp pagereply.example.yaml pagereply.yaml`, "put that id in pages[0].id;
// drop the example lines you do not use". A copy that kept the example's
// Page id, or its rules (which tell real people "we are open 9 to 5, Monday
// to Friday"), passed check without a word: the first poll then read
// another Page with the user's token, or the rules answered the user's
// visitors with the example's claims. check now warns of each (exit 0:
// still valid), and not of a config of the user's own.
func TestCheckWarnsExampleLeftIn_audit19(t *testing.T) {
	example, err := os.ReadFile("../../pagereply.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PAGE_TOKEN":          "EAABaudit19pagetoken",
		"FB_APP_SECRET":       "0123456789abcdef0123456789abcdef",
		"FB_VERIFY_TOKEN":     "audit19-verify-token",
		"PAGEREPLY_API_TOKEN": "audit19-api-token-0123456789abcdef",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	copied := filepath.Join(dir, "pagereply.yaml")
	if err := os.WriteFile(copied, example, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runInProcess(t, env, "check", "-c", copied)
	if code != exitOK {
		t.Fatalf("check of the example: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"warning: pages[0].id is the example file's Page id",
		"warning: pages[0].rules[0].text is the example file's",
		"warning: pages[0].rules[1].text is the example file's",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check of the example says no %q:\n%s", want, out)
		}
	}
	// The user's own id and texts: no such warning.
	own := strings.NewReplacer("1983306698425200", "104251658000000",
		"prices are on our site.", "see the shop.", "we are open 9 to 5, Monday to Friday.", "we open at 10.").Replace(string(example))
	if err := os.WriteFile(copied, []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runInProcess(t, env, "check", "-c", copied)
	if code != exitOK || strings.Contains(out, "example file") {
		t.Errorf("check of an edited copy: exit %d, warns of the example\n%s\n%s", code, out, errOut)
	}
}
