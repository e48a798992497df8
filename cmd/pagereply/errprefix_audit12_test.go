package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigErrorPrefixes_audit12: every command's error lines begin
// "pagereply COMMAND: ", a problem with the configuration file then
// "config FILE: " (config.Load's own words), whether the file does not
// parse or a role cannot run with it (api.tokens): check and serve said the
// same problem as "pagereply: config FILE:", "pagereply check: FILE:" and
// "pagereply serve:" without the file.
func TestConfigErrorPrefixes_audit12(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	noTokens := filepath.Join(dir, "notokens.yaml")
	t.Setenv("AUDIT12_PREFIX_TOKEN", "EAABauditprefixtoken")
	pages := "pages:\n  - id: \"77\"\n    access_token: ${AUDIT12_PREFIX_TOKEN}\n    default_text: \"hi\"\n"
	for path, yaml := range map[string]string{
		typo:     "wroker: {}\n" + pages,
		noTokens: "redis:\n  url: redis://" + freeAddr(t) + "/3\n" + pages,
	} {
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][]string{
		{"check"}, {"serve"}, {"worker"}, {"api"}, {"scheduler"}, {"status"},
		{"enqueue", "--page", "77", "--comment", "1_2", "--text", "hi"},
		{"poll", "--page", "77"}, {"resume", "--page", "77"},
	} {
		want := "pagereply " + c[0] + ": config " + typo + ": "
		out, errOut, code := runInProcess(t, nil, append(c, "-c", typo)...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errOut, want) {
			t.Errorf("%s -c with an unknown key: exit %d, want %d and stderr beginning %q\nstdout %q\nstderr %q", c[0], code, exitUsage, want, out, errOut)
		}
		want = "pagereply " + c[0] + ": no configuration: "
		if out, errOut, code := runInProcess(t, nil, c...); code != exitUsage || out != "" || !strings.HasPrefix(errOut, want) {
			t.Errorf("%s without -c: exit %d, want %d and stderr beginning %q\nstdout %q\nstderr %q", c[0], code, exitUsage, want, out, errOut)
		}
	}
	for _, cmd := range []string{"check", "serve", "api"} {
		want := "pagereply " + cmd + ": config " + noTokens + ": api.tokens is empty"
		if out, errOut, code := runInProcess(t, nil, cmd, "-c", noTokens); code != exitUsage || out != "" || !strings.HasPrefix(errOut, want) {
			t.Errorf("%s without api.tokens: exit %d, want %d and stderr beginning %q\nstdout %q\nstderr %q", cmd, code, exitUsage, want, out, errOut)
		}
	}
}
