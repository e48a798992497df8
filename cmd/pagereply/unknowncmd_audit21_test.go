package main

import (
	"strings"
	"testing"
)

// TestUnknownCommandSaysWhatToType_audit21: `pagereply -c pagereply.yaml
// serve` (the config first, as git -C or docker --config take it) answered
// `unknown command "-c"`, and `pagereply stat` or `pagereply Serve` only
// `unknown command`. A flag before the command now says the command comes
// first and shows the line to type with the command it found, naming the
// flag without a value given with = (it may be a secret: sandbox
// --app-secret=...); a command's prefix or other case names the command.
func TestUnknownCommandSaysWhatToType_audit21(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-c", "pagereply.yaml", "serve"}, "pagereply: -c comes before the command: give the command first, then its flags (pagereply serve -c ...)\n"},
		{[]string{"--app-secret=s3cr3t-value", "sandbox"}, "pagereply: --app-secret comes before the command: give the command first, then its flags (pagereply sandbox --app-secret ...)\n"},
		{[]string{"-c", "pagereply.yaml"}, "pagereply: -c is no command: give a command first, then its flags (pagereply <command> -c ...); run 'pagereply help'\n"},
		{[]string{"stat", "-c", "x.yaml"}, "pagereply: unknown command \"stat\" (status?); run 'pagereply help'\n"},
		{[]string{"Serve"}, "pagereply: unknown command \"Serve\" (serve?); run 'pagereply help'\n"},
		{[]string{"help", "work"}, "pagereply: unknown command \"work\" (worker?); run 'pagereply help'\n"},
		{[]string{"s"}, "pagereply: unknown command \"s\"; run 'pagereply help'\n"},
		{[]string{"nosuch"}, "pagereply: unknown command \"nosuch\"; run 'pagereply help'\n"},
	} {
		stdout, stderr, code := runInProcess(t, nil, tc.args...)
		if code != exitUsage || stdout != "" || stderr != tc.want {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and %q", tc.args, code, stdout, stderr, exitUsage, tc.want)
		}
		if strings.Contains(stderr, "s3cr3t") {
			t.Errorf("%q: the flag's value reached stderr: %q", tc.args, stderr)
		}
	}
}
