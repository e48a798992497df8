package main

import (
	"os"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestPageFlagSecretOfUnsetVarNotEchoed_audit20: poll, resume and enqueue
// refuse a --page holding one of the configuration's secrets without
// echoing it (a script's variables mixed up: audit14). Since a command
// loads a ${VAR} unset at a key it does not use (config.ParseFor), the
// configuration no longer knows every secret: an operator's shell that
// sourced pagereply.env without exporting it (`. pagereply.env`) holds
// $PAGE_TOKEN, pagereply's environment does not, and
// `--page "$PAGE_TOKEN"` was answered "--page EAA... is not in the
// configuration's pages", the token on stderr (a job's log). A value that
// is not shaped as a Page id (a number) is not echoed while some variable
// is unset; a numeric one still is.
func TestPageFlagSecretOfUnsetVarNotEchoed_audit20(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 2, Posts: 0, Comments: 0, Seed: 20}, "10/s")
	pa, pb := e.sb.Pages()[0], e.sb.Pages()[1]
	secretsAsVars(t, e.cfgPath, pa.Token, "${AUDIT20_PF_TOKEN_A}", pb.Token, "${AUDIT20_PF_TOKEN_B}",
		e2eAppSecret, "${AUDIT20_PF_APP_SECRET}", e2eAPIToken, "${AUDIT20_PF_API}")
	t.Setenv("AUDIT20_PF_TOKEN_A", pa.Token)
	t.Setenv("AUDIT20_PF_APP_SECRET", e2eAppSecret)
	for _, v := range []string{"AUDIT20_PF_TOKEN_B", "AUDIT20_PF_API"} {
		os.Unsetenv(v) //nolint:errcheck // set by no one
	}
	for _, v := range []string{pb.Token, e2eAPIToken} {
		for _, args := range [][]string{
			{"poll", "-c", e.cfgPath, "--page", v, "--dry-run"},
			{"resume", "-c", e.cfgPath, "--page", v},
			{"enqueue", "-c", e.cfgPath, "--page", v, "--comment", pa.ID + "_1_2", "--text", "hello"},
		} {
			out, errOut, code := runInProcess(t, nil, args...)
			// enqueue stops earlier, at the unset secret variables it
			// needs to check its text and ids against.
			if code != exitUsage || !strings.Contains(errOut, "--page") && !(args[0] == "enqueue" && strings.Contains(errOut, "export it")) {
				t.Errorf("%s --page <an unset variable's secret>: exit %d, %q; want exit 2 about --page", args[0], code, errOut)
			}
			checkNoSecrets(t, []string{v}, map[string]string{args[0] + " stderr": errOut, args[0] + " stdout": out})
		}
	}
	// A known secret is still named by its key, a number still echoed.
	if _, errOut, code := runInProcess(t, nil, "poll", "-c", e.cfgPath, "--page", e2eAppSecret); code != exitUsage ||
		!strings.Contains(errOut, "--page holds the value of graph.app_secret") {
		t.Errorf("poll --page <app secret>: exit %d, %q", code, errOut)
	}
	if _, errOut, code := runInProcess(t, nil, "poll", "-c", e.cfgPath, "--page", "999"); code != exitUsage ||
		!strings.Contains(errOut, "--page 999 is not in the configuration's pages") {
		t.Errorf("poll --page 999: exit %d, %q", code, errOut)
	}
}
