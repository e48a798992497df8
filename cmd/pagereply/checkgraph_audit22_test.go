package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckNamesGraphURL_audit22: check's summary named Redis but not
// where Graph calls go, the value a first try against the sandbox gets
// wrong (its port, or base_url left out and so Meta's): it now names
// graph.base_url and graph.version, never the app secret.
func TestCheckNamesGraphURL_audit22(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: redis://127.0.0.1:1/0\n" +
		"graph:\n  base_url: http://127.0.0.1:8089/\n  app_secret: \"appsecretappsecret42\"\n" +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runInProcess(t, nil, "check", "-c", cfg, "--roles", "scheduler,worker")
	if want := ", Graph http://127.0.0.1:8089 (v25.0), "; code != exitOK || !strings.Contains(out, want) {
		t.Fatalf("check: exit %d, want 0 and %q in\n%s%s", code, want, out, errOut)
	}
	if strings.Contains(out+errOut, "appsecretappsecret42") || strings.Contains(out+errOut, "EAABtokentoken") {
		t.Fatalf("a secret reached the output:\n%s%s", out, errOut)
	}
}
