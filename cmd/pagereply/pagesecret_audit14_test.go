package main

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestPageFlagHoldingASecretNotEchoed_audit14: poll, resume and enqueue
// given a --page that is no configured Page said "--page VALUE is not in the
// configuration's pages", the value as given: a Page's token or the app
// secret passed as --page (a script's variables mixed up) went to stderr, a
// job's log. Such a value is refused, exit 2, naming the key of the secret it
// holds, never the value; another unknown Page is still named.
func TestPageFlagHoldingASecretNotEchoed_audit14(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 0, Comments: 0, Seed: 14}, "10/s")
	page := e.sb.Pages()[0]
	for _, v := range []string{page.Token, e2eAppSecret} {
		for _, args := range [][]string{
			{"poll", "-c", e.cfgPath, "--page", v},
			{"resume", "-c", e.cfgPath, "--page", v},
			{"enqueue", "-c", e.cfgPath, "--page", v, "--comment", page.ID + "_1_2", "--text", "hello"},
		} {
			out, errOut, code := run(t, args...)
			if code != exitUsage || !strings.Contains(errOut, "--page holds the value of") {
				t.Errorf("%s --page <a secret>: exit %d, %q; want exit 2 naming the secret's key", args[0], code, errOut)
			}
			checkNoSecrets(t, e.secrets, map[string]string{args[0] + " stderr": errOut, args[0] + " stdout": out})
		}
	}
	if _, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", "999"); code != exitUsage ||
		!strings.Contains(errOut, "--page 999 is not in the configuration's pages") {
		t.Errorf("poll --page 999: exit %d, %q", code, errOut)
	}
}
