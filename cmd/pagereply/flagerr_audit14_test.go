package main

import (
	"strings"
	"testing"
)

// TestFlagErrorsNamePagereplyCmd_audit14: README says a command's errors on
// stderr begin "pagereply CMD: ". A flag the command does not know, one
// given without its value or with a value it cannot parse was printed as
// the flag package words it ("flag provided but not defined: -bogus"),
// naming neither pagereply nor the command, so a log or a script looking
// for "pagereply serve:" missed it. The usage still follows, and the exit
// status stays 2 (1 for healthcheck, whose bad usage is 1).
func TestFlagErrorsNamePagereplyCmd_audit14(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"serve", "--bogus"}, "pagereply serve: flag provided but not defined: -bogus\n", exitUsage},
		{[]string{"status", "--count-limit", "abc"}, "pagereply status: invalid value \"abc\" for flag -count-limit", exitUsage},
		{[]string{"enqueue", "--text"}, "pagereply enqueue: flag needs an argument: -text\n", exitUsage},
		{[]string{"sandbox", "--grow", "5"}, "pagereply sandbox: invalid value \"5\" for flag -grow", exitUsage},
		{[]string{"bench", "pipeline", "--bogus"}, "pagereply bench pipeline: flag provided but not defined: -bogus\n", exitUsage},
		{[]string{"worker", "-x"}, "pagereply worker: flag provided but not defined: -x\n", exitUsage},
		{[]string{"healthcheck", "--timeout", "x"}, "pagereply healthcheck: invalid value \"x\" for flag -timeout", exitError},
		{[]string{"version", "extra"}, "pagereply version: unexpected argument \"extra\"\n", exitUsage},
	} {
		stdout, stderr, code := runInProcess(t, nil, tc.args...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d", tc.args, code, tc.code)
		}
		if !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("%v: stderr begins %q, want %q", tc.args, firstLine(stderr), tc.want)
		}
		if strings.Contains(stderr, "pagereply pagereply") || strings.Count(stderr, tc.want[:strings.Index(tc.want, ": ")+2]) != 1 {
			t.Errorf("%v: the prefix is not said once:\n%s", tc.args, stderr)
		}
		if tc.args[0] != "version" && !strings.Contains(stderr, "Usage: pagereply "+tc.args[0]) {
			t.Errorf("%v: no usage after the error:\n%s", tc.args, stderr)
		}
		if stdout != "" {
			t.Errorf("%v: stdout %q, want nothing", tc.args, stdout)
		}
	}
	// -h is no error: the usage alone, on stdout, with no prefix.
	stdout, stderr, code := runInProcess(t, nil, "serve", "-h")
	if code != exitOK || stderr != "" || !strings.HasPrefix(stdout, "Usage: pagereply serve") {
		t.Errorf("serve -h: exit %d, stdout %q, stderr %q", code, firstLine(stdout), stderr)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
