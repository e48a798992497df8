package config

import "testing"

// TestYAMLLineSeparatorNamed: yaml reads U+2028, U+2029 and U+0085 as line
// breaks, which editors do not show: a value pasted with one (from a word
// processor, a web page) breaks its line in two, and yaml's problem names
// what follows. The error says which line holds the separator and what to
// do; a file without one, or with one only after the problem, gets no such
// hint.
func TestYAMLLineSeparatorNamed(t *testing.T) {
	head := "redis:\n  url: redis://127.0.0.1:6379/0\npages:\n  - id: \"1\"\n    access_token: " + literalSecret + "\n"
	for _, tc := range []yamlErrorCase{
		{name: "line separator in a plain value", yaml: head + "    default_text: Thanks! \u2028See you\n",
			wantLine: 6, wantMsg: "line 6 holds a Unicode line separator (U+2028), which YAML reads as a line break"},
		{name: "paragraph separator in a comment", yaml: "redis:\n  url: redis://127.0.0.1:6379/0 # main\u2029b\npages: []\n",
			wantLine: 3, wantMsg: "line 2 holds a Unicode paragraph separator (U+2029)"},
		{name: "next-line character", yaml: head + "    default_text: Thanks! \u0085See you\n",
			wantLine: 6, wantMsg: `next-line character (U+0085), which YAML reads as a line break though editors show none: delete it, or write it as \u0085 inside double quotes`},
		{name: "none", yaml: head + "     schedule: x\n", wantLine: 6, wantMsg: "where no key can start", notMsg: "U+"},
		{name: "only after the problem", yaml: head + "     schedule: x\n    default_text: \"a\u2028b\"\n", wantLine: 6, wantMsg: "where no key can start", notMsg: "U+"},
	} {
		t.Run(tc.name, func(t *testing.T) { checkYAMLError(t, tc) })
	}
}
