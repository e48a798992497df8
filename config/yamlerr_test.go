package config

import (
	"errors"
	"strings"
	"testing"
)

// literalSecret is a secret written into the file itself (not through
// ${VAR}); its pieces must not show in any error.
const literalSecret = "EAABq7Zx9LiteralSecret"

// secretPieces returns literalSecret and its distinctive pieces: parser
// messages like to quote a prefix or the part after a punctuation mark.
func secretPieces() []string {
	s := literalSecret
	return []string{s, s[:8], s[len(s)-8:], "q7Zx9"}
}

// pageWith returns a file whose Page's access_token line (line 4) is
// "    access_token: " + value.
func pageWith(value string) string {
	return "graph:\n  timeout: 10s\npages:\n  - id: \"123\"\n    access_token: " + value + "\n    schedule: \"@every 1m\"\n"
}

// TestParserErrorsQuoteNothing writes a literal secret in ways the YAML
// parser rejects: the error must not quote any piece of it, and must still
// say the line and what is wrong in plain words.
func TestParserErrorsQuoteNothing(t *testing.T) {
	s := literalSecret
	tests := []struct {
		name     string
		yaml     string
		wantLine int
		wantMsg  string // substring
		notMsg   string // substring that must not be in the message
	}{
		{name: "token read as an alias", yaml: pageWith("*" + s), wantLine: 5, wantMsg: "an alias (*name) refers to an anchor"},
		{
			name:     "alias after decoys in a comment and a string",
			yaml:     "# the token used to be *" + s + "\ngraph:\n  timeout: 10s\n  version: \"v25.0 *" + s + "\"\npages:\n  - id: \"123\"\n    access_token: *" + s + "\n  - {id: \"5\", access_token: *" + s + "}\n",
			wantLine: 7, wantMsg: "an alias (*name)",
		},
		{name: "alias in a flow list", yaml: "pages: [{id: \"1\", access_token: x}]\napi:\n  tokens: [a, *" + s + "]\n", wantLine: 3, wantMsg: "an alias (*name)"},
		{name: "alias with a dot", yaml: pageWith("*" + s[:6] + "." + s[6:]), wantLine: 5, wantMsg: "anchor (&name) or alias (*name)"},
		{name: "anchor with a dot", yaml: pageWith("&" + s[:6] + "." + s[6:]), wantLine: 5, wantMsg: "anchor (&name) or alias (*name)"},
		{name: "verbatim tag", yaml: pageWith("!<" + s + " x"), wantLine: 5, wantMsg: "tag"},
		{name: "undefined tag handle", yaml: pageWith("!" + s[:6] + "!" + s[6:] + " x"), wantLine: 5, wantMsg: "tag"},
		{name: "at sign", yaml: pageWith("@" + s), wantLine: 5, wantMsg: "a character YAML reserves (@ or `); put the value in quotes", notMsg: "quote opened"},
		{name: "backquote on line 1", yaml: "a: `" + s + "`\n", wantLine: 1, wantMsg: "a character YAML reserves"},
		{name: "unclosed quote", yaml: "pages:\n  - id: \"1\"\n    access_token: \"" + s + "\n", wantLine: 3, wantMsg: "never closed"},
		{name: "bad escape", yaml: pageWith("\"" + s[:6] + "\\q" + s[6:] + "\""), wantLine: 5, wantMsg: "escape"},
		{name: "colon in the value", yaml: pageWith(s[:6] + ": " + s[6:]), wantLine: 5, wantMsg: "quotes"},
		{name: "no space after the colon", yaml: "pages:\n  - id: \"1\"\n    access_token:" + s + "\n", wantLine: 3, wantMsg: "':'"},
		{name: "unclosed list", yaml: pageWith("[" + s), wantLine: 5, wantMsg: "[ ] list"},
		{name: "unclosed mapping", yaml: pageWith("{" + s), wantLine: 5, wantMsg: "{ } mapping", notMsg: "${VAR}"},
		{name: "unquoted variable in a flow mapping", yaml: "pages: [{id: \"1\", access_token: ${PAGE_TOKEN}}]\n", wantLine: 1, wantMsg: `must be in quotes ("${VAR}")`},
		{name: "unquoted variable in a flow mapping of a list", yaml: "pages:\n  - {id: \"1\", access_token: ${PAGE_TOKEN}, rate: 10/s}\n", wantLine: 2, wantMsg: `must be in quotes ("${VAR}")`},
		{name: "quoted variable, another flow problem", yaml: "pages: [{id: \"1\", access_token: \"${PAGE_TOKEN}\" x: y}]\n", wantLine: 1, wantMsg: "mapping", notMsg: "${VAR}"},
		{name: "zero indentation indicator", yaml: pageWith("|0\n  " + s), wantLine: 5, wantMsg: "block"},
		{name: "control character", yaml: pageWith(s[:6] + "\x01" + s[6:]), wantLine: 5, wantMsg: "control character"},
		{name: "invalid UTF-8", yaml: pageWith(s[:6] + "\xff" + s[6:]), wantLine: 5, wantMsg: "UTF-8"},
		{name: "directive", yaml: "%" + s + " x\n---\npages: []\n", wantLine: 1, wantMsg: "directive"},
		{name: "mis-indented key", yaml: "pages:\n  - id: \"1\"\n    access_token: x\n   " + s + ": y\n", wantLine: 4, wantMsg: "indentation"},
		{name: "tab indentation", yaml: "graph:\n  timeout: 10s\n\t" + s + ": x\n", wantLine: 3, wantMsg: "tab"},
		{name: "tab as the indentation", yaml: "graph:\n\ttimeout: 10s\n", wantLine: 2, wantMsg: "a tab in the indentation; YAML indents with spaces"},
		{name: "tab after spaces", yaml: "pages:\n  - id: \"1\"\n  \taccess_token: " + s + "\n", wantLine: 3, wantMsg: "a tab in the indentation; YAML indents with spaces"},
		{name: "tab as the first indentation", yaml: "pages:\n\t- id: \"1\"\n", wantLine: 2, wantMsg: "a tab in the indentation; YAML indents with spaces"},
		{name: "tab after a list's dash", yaml: "pages:\n  -\tid: \"1\"\n", wantLine: 2, wantMsg: "a tab in the indentation; YAML indents with spaces"},
		{name: "tab after a list's dash and a space", yaml: "pages:\n  - \tid: \"1\"\n", wantLine: 2, wantMsg: "a tab in the indentation; YAML indents with spaces"},
		{name: "quote not closed on its line", yaml: "pages:\n  - id: \"1\"\n    access_token: \"" + s + "\n    schedule: \"@every 1m\"\n", wantLine: 4, wantMsg: "a quote opened on line 3 may not be closed, so the quoted value runs on to this line (if it is meant to: a value starts with"},
		{name: "quote not closed, lines before the problem", yaml: "pages:\n  - id: \"1\"\n    access_token: \"" + s + "\n    rate: 10/s\n    schedule: \"@every 1m\"\n", wantLine: 5, wantMsg: "a quote opened on line 3 may not be closed"},
		{name: "single quote not closed", yaml: "pages:\n  - id: \"1\"\n    access_token: '" + s + "\n    schedule: '@every 1m'\n", wantLine: 4, wantMsg: "a quote opened on line 3 may not be closed"},
		{name: "quote not closed, then a * value", yaml: "pages:\n  - id: \"1\"\n    access_token: \"" + s + "\n    schedule: \"*/5 * * * *\"\n", wantLine: 4, wantMsg: "a quote opened on line 3 may not be closed"},
		{name: "quote on line 1 not closed", yaml: "a: \"" + s + "\nb: \"@x\"\n", wantLine: 2, wantMsg: "a quote opened on line 1 may not be closed"},
		{name: "quote in a flow mapping not closed", yaml: "pages:\n  - {id: \"1\", access_token: \"" + s + "}\n  - {id: \"2\", access_token: \"x\"}\n", wantLine: 3, wantMsg: "a quote opened on line 2 may not be closed"},
		{name: "quote closed on a later line", yaml: "pages:\n  - id: \"1\"\n    default_text: \"Hi,\n      there\"\n    schedule: @x\n", wantLine: 5, wantMsg: "a character YAML reserves", notMsg: "quote opened"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), env(nil))
			if err == nil {
				t.Fatalf("Parse succeeded:\n%s", tt.yaml)
			}
			for _, piece := range secretPieces() {
				if strings.Contains(err.Error(), piece) {
					t.Errorf("error quotes %q from the file: %v", piece, err)
				}
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if fe.Line != tt.wantLine || !strings.Contains(fe.Msg, tt.wantMsg) {
				t.Errorf("error %q (line %d), want line %d and %q", fe.Msg, fe.Line, tt.wantLine, tt.wantMsg)
			}
			if tt.notMsg != "" && strings.Contains(fe.Msg, tt.notMsg) {
				t.Errorf("error %q says %q", fe.Msg, tt.notMsg)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("error %q does not say the line", err)
			}
		})
	}
}

// TestUnknownParserMessage: a message of the parser this package does not
// know (as a newer yaml version may write) is not passed on, since it may
// quote the file; its line still is.
func TestUnknownParserMessage(t *testing.T) {
	err := errors.New("yaml: line 3: found a new kind of problem near '" + literalSecret + "'")
	fe := yamlError(err, []byte(pageWith(literalSecret)))
	if fe.Line != 3 || fe.Msg != msgInvalid {
		t.Errorf("got %q (line %d), want %q (line 3)", fe.Msg, fe.Line, msgInvalid)
	}
}
