package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// yamlErrorCase is a broken file and what Parse must say of it.
type yamlErrorCase struct {
	name     string
	yaml     string
	wantLine int    // the line the error names; 0: none
	wantMsg  string // substring of the message
	notMsg   string // substring the message must not hold
}

// checkYAMLError parses tc.yaml and checks the one FieldError it must give:
// its line, its wording, and that it quotes no piece of literalSecret.
func checkYAMLError(t *testing.T, tc yamlErrorCase) {
	t.Helper()
	_, err := Parse([]byte(tc.yaml), env(nil))
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Parse error %v is not a *FieldError", err)
	}
	for _, piece := range secretPieces() {
		if strings.Contains(err.Error(), piece) {
			t.Errorf("error quotes %q from the file: %v", piece, err)
		}
	}
	if fe.Line != tc.wantLine || !strings.Contains(fe.Msg, tc.wantMsg) {
		t.Errorf("error %q (line %d), want line %d and %q", fe.Msg, fe.Line, tc.wantLine, tc.wantMsg)
	}
	if tc.notMsg != "" && strings.Contains(fe.Msg, tc.notMsg) {
		t.Errorf("error %q says %q", fe.Msg, tc.notMsg)
	}
}

// TestYAMLErrorLinesAudit3 holds the line and the wording of parser errors
// in the cases where the line has to be found or corrected: line breaks of
// every kind, characters before the problem, a quoted value over several
// lines, a problem yaml reports without a line.
func TestYAMLErrorLinesAudit3(t *testing.T) {
	s := literalSecret
	for _, tc := range []yamlErrorCase{
		{name: "too deep, block", yaml: "a:\n" + strings.Repeat("- ", 12000) + s + "\n", wantLine: 2, wantMsg: msgTooDeep},
		{name: "too deep on line 1", yaml: "a: " + strings.Repeat("[", 10001) + s + "\n", wantLine: 1, wantMsg: msgTooDeep},
		{name: "parser problem on line 1 of several", yaml: "log: {level: info format: " + s + "}\npages: [{id: \"1\", access_token: x}]\n", wantLine: 1, wantMsg: "{ } mapping"},
		{name: "key without space after colon, not at the end", yaml: "pages:\n  - id: \"1\"\n    access_token:" + s + "\n    schedule: y\n", wantLine: 3, wantMsg: "a key without ':'"},
		{name: "unclosed list followed by blank lines only", yaml: "pages: [\n\n\n\n", wantLine: 1, wantMsg: "a value is missing"},
		{name: "quote never closed after a quoted value over two lines", yaml: "pages:\n  - id: \"1\"\n    default_text: \"Hi,\n      there\"\n    access_token: \"" + s + "\n", wantLine: 5, wantMsg: "never closed"},
		{name: "quote never closed, opened on the line a quoted value closes", yaml: "a: [\"x\n  y\", \"" + s + "\n", wantLine: 2, wantMsg: "a quoted value is never closed", notMsg: "quote opened"},
		{name: "quote not closed before ---, opened on the line a quoted value closes", yaml: "a: [\"x\n  y\", \"" + s + "\n---\n", wantLine: 3, wantMsg: "not closed before a --- or ... line", notMsg: "quote opened"},
		{name: "escape on a tab-indented line of a flow list", yaml: "api:\n  tokens: [a,\n\t\"" + s + "\\q\"]\n", wantLine: 3, wantMsg: "escape", notMsg: "tab"},
		{name: "tab before the last line, no final line break", yaml: "graph:\n\ttimeout: 10s", wantLine: 2, wantMsg: msgTab},
		{name: "variable before another problem", yaml: "a: ${X}\nb: @" + s + "\n", wantLine: 2, wantMsg: msgReserved, notMsg: "${VAR}"},
		{name: "single-quoted variable, another flow problem", yaml: "pages: [{id: \"1\", access_token: '${PAGE_TOKEN}' x: y}]\n", wantLine: 1, wantMsg: "mapping", notMsg: "${VAR}"},
		{name: "alias first in a flow list", yaml: "pages: [{id: \"1\", access_token: x}]\napi:\n  tokens: [*" + s + "]\n", wantLine: 3, wantMsg: msgAlias},
		{name: "alias first in a flow mapping", yaml: "pages:\n  - id: \"1\"\n    access_token: x\n    rate: {*" + s + ": x}\n", wantLine: 4, wantMsg: msgAlias},
		{name: "alias before another unknown alias", yaml: "pages:\n  - id: \"1\"\n    access_token: *" + s + "\n    rate: *other\n", wantLine: 3, wantMsg: msgAlias},
		{name: "reserved character in a list over several lines", yaml: "api:\n  tokens: [a,\n    @" + s + "]\n", wantLine: 3, wantMsg: msgReserved, notMsg: "quote opened"},
		{name: "mis-indented key after a long comment", yaml: strings.Repeat("# "+strings.Repeat("c", 98)+"\n", 100) + "pages:\n  - id: \"1\"\n    access_token: x\n   " + s + ": y\n", wantLine: 104, wantMsg: "indentation"},
		{name: "mis-indented key, CRLF", yaml: "pages:\r\n  - id: \"1\"\r\n    access_token: x\r\n   " + s + ": y\r\nz: 1\r\n", wantLine: 4, wantMsg: "a line inside a list that is not an item"},

		// Problems the reader finds: the line is that of the first
		// character YAML does not take.
		{name: "control character after an unclosed quote", yaml: "pages:\n  - id: \"1\"\n    access_token: \"" + s + "\n    schedule: \"x\x01\"\n", wantLine: 4, wantMsg: "a control character", notMsg: "quote opened"},
		{name: "control character, CRLF", yaml: "a: 1\r\nb: 2\r\nc: \"" + s + "\x01\"\r\n", wantLine: 3, wantMsg: "a control character"},
		{name: "control character, CR only", yaml: "pages:\r  - id: \"1\"\r    access_token: \"" + s + "\x01\"\r", wantLine: 3, wantMsg: "a control character"},
		{name: "control character on the last line, no final line break", yaml: "a: 1\nb: \"" + s + "\x01\"", wantLine: 2, wantMsg: "a control character"},
		{name: "control character first on its line", yaml: "a: 1\n\x01b: " + s + "\n", wantLine: 2, wantMsg: "a control character"},
		{name: "control character after a two-byte letter", yaml: "a: \"\u00e9\"\nb: 1\nc: \"" + s + "\x01\"\n", wantLine: 3, wantMsg: "a control character"},
		{name: "control character after a tab", yaml: "a: \"x\ty\"\nb: 1\nc: \"" + s + "\x01\"\n", wantLine: 3, wantMsg: "a control character"},
		{name: "control character after a next-line character", yaml: "a: \"x\u0085y\"\nb: 1\nc: \"" + s + "\x01\"\n", wantLine: 3, wantMsg: "a control character"},
		{name: "DEL", yaml: "a: 1\nb: 2\nc: \"" + s + "\x7f\"\n", wantLine: 3, wantMsg: "a control character"},
		{name: "C1 control character", yaml: "a: 1\nb: 2\nc: \"" + s + "\u0080\"\n", wantLine: 3, wantMsg: "a control character"},
		{name: "noncharacter U+FFFE", yaml: "a: 1\nb: 2\nc: \"" + s + "\uFFFE\"\n", wantLine: 3, wantMsg: "a control character"},
		// A UTF-16 file's lines cannot be counted in bytes: no line
		// rather than a wrong one.
		{name: "UTF-16LE, lone low surrogate", yaml: "\xff\xfea\x00:\x00 \x00b\x00\n\x00c\x00:\x00 \x00\x00\xdc\n\x00", wantLine: 0, wantMsg: msgEncoding},
		{name: "UTF-16BE, lone low surrogate", yaml: "\xfe\xff\x00a\x00:\x00 \x00b\x00\n\x00c\x00:\x00 \xdc\x00\x00\n", wantLine: 0, wantMsg: msgEncoding},
	} {
		t.Run(tc.name, func(t *testing.T) { checkYAMLError(t, tc) })
	}
}

// TestYAMLErrorLineInBigFileAudit3: in a file too big to search for the
// line of the mistake, the error still names the line yaml gives, counted
// from 1.
func TestYAMLErrorLineInBigFileAudit3(t *testing.T) {
	t.Parallel()
	comments := strings.Repeat("# "+strings.Repeat("c", 98)+"\n", maxSearchBytes/100+10)
	lines := strings.Count(comments, "\n")
	for _, tc := range []yamlErrorCase{
		{name: "parser problem after the comments", yaml: comments + "log: {level: info format: " + literalSecret + "}\n", wantLine: lines + 1, wantMsg: "{ } mapping"},
		{name: "scanner problem on a long line 1", yaml: "a: `" + literalSecret + strings.Repeat("x", maxSearchBytes) + "`\n" + comments, wantLine: 1, wantMsg: msgReserved},
	} {
		t.Run(tc.name, func(t *testing.T) { checkYAMLError(t, tc) })
	}
}

// TestSecondDocumentBrokenAudit3: a second document is refused even when it
// is not valid YAML, rather than ignored.
func TestSecondDocumentBrokenAudit3(t *testing.T) {
	checkYAMLError(t, yamlErrorCase{yaml: "pages: [{id: \"1\", access_token: x}]\n---\n[" + literalSecret + "\n", wantMsg: "the file must hold one YAML document"})
}

// TestDecodeKeyErrorsAudit3: errors about keys name the key's place and
// never show a key that may be a secret.
func TestDecodeKeyErrorsAudit3(t *testing.T) {
	s := literalSecret
	tests := []struct {
		name, yaml, path, msg, notMsg string
	}{
		// A short token holds digits, which no key does: not shown, even
		// under the length past which nothing is.
		{name: "short token with digits as a key", yaml: "pages:\n  - id: \"1\"\n    access_token: x\n    " + s[:16] + ": y\n", path: "pages[0]", msg: "key (not shown: not a plain name"},
		// Only a key followed by ':', '=', a space or a tab is a key run
		// together with its value; "id2" is just not a key.
		{name: "known key with a digit after it", yaml: "pages:\n  - id: \"1\"\n    access_token: x\n    id2: y\n", path: "pages[0]", msg: "key (not shown: not a plain name", notMsg: "run together"},
		{name: "duplicate key names the first line", yaml: "pages:\n  - id: \"1\"\n    access_token: x\n\n    id: \"2\"\n", path: "pages[0].id", msg: "duplicate key (first at line 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), env(nil))
			for _, piece := range []string{s[:16], s[:8], "q7Zx9"} {
				if strings.Contains(fmt.Sprint(err), piece) {
					t.Errorf("error quotes %q from the file: %v", piece, err)
				}
			}
			if !hasFieldError(t, err, tt.path, tt.msg) {
				t.Fatalf("no error at %q containing %q in:\n%v", tt.path, tt.msg, err)
			}
			if tt.notMsg != "" && strings.Contains(err.Error(), tt.notMsg) {
				t.Errorf("error says %q: %v", tt.notMsg, err)
			}
		})
	}
}
