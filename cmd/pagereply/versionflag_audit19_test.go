package main

import "testing"

// TestVersionFlag_audit19: --version and -version, which a new user tries
// first, print what the version command prints (exit 0), not "unknown
// command"; given after a command they are still that command's flag error.
func TestVersionFlag_audit19(t *testing.T) {
	want, _, _ := runInProcess(t, nil, "version")
	for _, arg := range []string{"--version", "-version"} {
		out, errOut, code := runInProcess(t, nil, arg)
		if code != exitOK || errOut != "" || out != want {
			t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s\nwant the version command's output:\n%s", arg, code, out, errOut, want)
		}
	}
	if _, errOut, code := runInProcess(t, nil, "check", "--version"); code != exitUsage || errOut == "" {
		t.Errorf("check --version: exit %d, stderr %q; want the flag error", code, errOut)
	}
}
