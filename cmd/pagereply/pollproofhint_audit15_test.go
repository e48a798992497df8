package main

import (
	"os"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestPollOfRefusedProofNamesAppSecret_audit15: Graph refusing the calls'
// appsecret_proof (graph.app_secret is not the app's secret) is a page-broken
// answer, as a refused token is, but the token is not at fault: the dry run's
// advice named only pages[i].access_token and the token's permissions, and
// an operator who followed it replaced a good token. It names graph.app_secret
// for that answer, and the token not at all.
func TestPollOfRefusedProofNamesAppSecret_audit15(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 3, Seed: 6}, "10/s")
	page := e.sb.Pages()[0]
	cfg, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	const wrong = "not-the-apps-secret-9d8c7b"
	if err := os.WriteFile(e.cfgPath, []byte(strings.ReplaceAll(string(cfg), e2eAppSecret, wrong)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID, "--dry-run")
	if code != exitError || out != "" || !strings.Contains(errOut, "appsecret_proof") {
		t.Fatalf("dry run with a wrong app secret: exit %d\nstdout %q\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "graph.app_secret") || strings.Contains(errOut, "pages[0].access_token") {
		t.Errorf("dry run with a wrong app secret: the advice names the token, not graph.app_secret:\n%s", errOut)
	}
	if strings.Contains(errOut, page.Token) || strings.Contains(errOut, wrong) {
		t.Fatal("a secret reached the output")
	}
}
