package main

import (
	"strings"
	"testing"
)

// TestFlagValueErrorSaysWhatItWants_audit21: a flag value the flag package
// cannot parse was said as "invalid value "5" for flag -timeout: parse
// error", which does not tell a user who wrote `pagereply demo --once
// --timeout 5` that a duration needs its unit. The message now says what
// the flag takes (a duration with its unit, a whole number, a number, true
// or false), after the same prefix and words, and the usage still follows
// with exit 2 (1 for healthcheck).
func TestFlagValueErrorSaysWhatItWants_audit21(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"demo", "--timeout", "5"}, "pagereply demo: invalid value \"5\" for flag -timeout: not a duration: give it with its unit, like 30s, 2m or 1h30m\n", exitUsage},
		{[]string{"sandbox", "--block", "60"}, "pagereply sandbox: invalid value \"60\" for flag -block: not a duration: give it with its unit, like 30s, 2m or 1h30m\n", exitUsage},
		{[]string{"healthcheck", "--timeout", "3"}, "pagereply healthcheck: invalid value \"3\" for flag -timeout: not a duration: give it with its unit, like 30s, 2m or 1h30m\n", exitError},
		{[]string{"status", "--count-limit", "1e5"}, "pagereply status: invalid value \"1e5\" for flag -count-limit: not a whole number\n", exitUsage},
		{[]string{"sandbox", "--rate", "ten"}, "pagereply sandbox: invalid value \"ten\" for flag -rate: not a number\n", exitUsage},
		{[]string{"demo", "--once=yes"}, "pagereply demo: invalid boolean value \"yes\" for -once: want true or false\n", exitUsage},
	} {
		stdout, stderr, code := runInProcess(t, nil, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.args, code, tc.code)
		}
		if !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("%v: stderr begins %q, want %q", tc.args, firstLine(stderr), strings.TrimSuffix(tc.want, "\n"))
		}
		if !strings.Contains(stderr, "Usage: pagereply "+tc.args[0]) {
			t.Errorf("%v: no usage after the error:\n%s", tc.args, stderr)
		}
		if stdout != "" {
			t.Errorf("%v: stdout %q, want nothing", tc.args, stdout)
		}
	}
	// A value out of range keeps the flag package's words, which say it.
	_, stderr, _ := runInProcess(t, nil, "status", "--count-limit", "99999999999999999999")
	if !strings.HasPrefix(stderr, "pagereply status: invalid value \"99999999999999999999\" for flag -count-limit: value out of range\n") {
		t.Errorf("out of range: stderr begins %q", firstLine(stderr))
	}
}
