package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnsetVariableSaysExport_audit19: a variable set in the shell without
// export (PAGE_TOKEN=EAAB... on its own line, then ./pagereply check) is not
// in pagereply's environment: check said "environment variable PAGE_TOKEN is
// not set" while `echo $PAGE_TOKEN` showed it, and nothing said why. A
// configuration refused for an unset variable now adds one line saying the
// variable must be exported (or be in the unit's or container's
// environment); other refusals do not.
func TestUnsetVariableSaysExport_audit19(t *testing.T) {
	dir := t.TempDir()
	unset := filepath.Join(dir, "unset.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	for path, yaml := range map[string]string{
		unset: "pages:\n  - id: \"123\"\n    access_token: ${AUDIT19_UNSET_TOKEN}\n    default_text: hi\n",
		bad:   "pages:\n  - id: \"123\"\n    access_token: EAABtoken\n    default_text: hi\n    rate: fast\n",
	} {
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// poll, not status: status uses no Page token, and runs without one
	// (TestUnsetVariableOnlyWhereUsed_audit20).
	for _, args := range [][]string{{"check"}, {"serve"}, {"poll", "--page", "123"}} {
		cmd := args[0]
		_, stderr, code := runInProcess(t, nil, append(args, "-c", unset)...)
		if code != exitUsage || !strings.Contains(stderr, "AUDIT19_UNSET_TOKEN is not set") {
			t.Fatalf("%s: exit %d, want %d naming the variable\n%s", cmd, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, "pagereply "+cmd+": a variable the configuration takes must be in pagereply's environment: export it") || strings.Count(stderr, "export it") != 1 {
			t.Errorf("%s: no single line saying to export the variable:\n%s", cmd, stderr)
		}
	}
	_, stderr, code := runInProcess(t, nil, "check", "-c", bad, "--insecure")
	if code != exitUsage || strings.Contains(stderr, "export") {
		t.Errorf("check of a bad rate: exit %d, says export\n%s", code, stderr)
	}
}
