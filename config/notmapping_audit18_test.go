package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestFileNotAMappingAudit18: a file whose top is not a mapping of keys
// (most often another file given to -c by mistake: an env file, whose
// KEY=value lines YAML reads as one value broken by its comments, or a
// list) is said to be so, once, with its line: not "the file must hold one
// YAML document" (it holds one) nor a second problem, "at least one page
// is required", that follows from the first. Nothing of the file is quoted.
func TestFileNotAMappingAudit18(t *testing.T) {
	envExample, err := os.ReadFile("../deploy/.env.example")
	if err != nil {
		t.Fatal(err)
	}
	s := literalSecret
	for _, tc := range []struct {
		name, yaml, want string
		line             int
	}{
		{name: "env file", yaml: "# secrets\nPAGE_TOKEN=" + s + "\n# the app's\nFB_APP_SECRET=" + s + "\n", want: "got a single value", line: 2},
		{name: "env file without comments", yaml: "PAGE_TOKEN=" + s + "\nFB_APP_SECRET=" + s + "\n", want: "got a single value", line: 1},
		{name: "deploy/.env.example", yaml: string(envExample), want: "got a single value"},
		{name: "a list", yaml: "- a\n- " + s + "\n", want: "got a list", line: 1},
		{name: "a single value", yaml: s + "\n", want: "got a single value", line: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), env(nil))
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FieldError", err)
			}
			msg := err.Error()
			if strings.Contains(msg, "problems") || strings.Contains(msg, "one YAML document") || strings.Contains(msg, "at least one page") {
				t.Errorf("error %q: want one problem, that the file is not a mapping of keys", msg)
			}
			if !strings.Contains(fe.Msg, "want a mapping") || !strings.Contains(fe.Msg, tc.want) {
				t.Errorf("error %q: want it to say %q and %q", fe.Msg, "want a mapping", tc.want)
			}
			if tc.line != 0 && fe.Line != tc.line {
				t.Errorf("error %q names line %d, want %d", msg, fe.Line, tc.line)
			}
			for _, piece := range secretPieces() {
				if strings.Contains(msg, piece) {
					t.Errorf("error quotes %q from the file: %v", piece, msg)
				}
			}
		})
	}
}
