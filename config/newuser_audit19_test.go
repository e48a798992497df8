package config

import (
	"strings"
	"testing"
)

// A reply text that starts with a template action, written without quotes
// (default_text: {{.FirstName}}, thanks!), is the mistake a new user makes
// after reading the README's templates: YAML reads the unquoted { as the
// start of a { } mapping. Parse said "a line that is not a key at this
// indentation; check the indentation", or "want a string, got a mapping",
// neither of which says that the text wants quotes.
func TestUnquotedTemplateSaysQuote_audit19(t *testing.T) {
	const hint = "put it in quotes"
	for _, tc := range []yamlErrorCase{
		{name: "default_text, words after", yaml: withPage("default_text: {{.FirstName}}, thanks!", ""), wantLine: 4, wantMsg: hint},
		{name: "default_text, last line without a line break", yaml: strings.TrimSuffix(withPage("default_text: {{.FirstName}} thanks", ""), "\n"), wantLine: 4, wantMsg: hint},
		{name: "default_text, a key after it", yaml: withPage("default_text: {{.FirstName}} thanks\nrate: 5/s", ""), wantLine: 4, wantMsg: hint},
		{name: "text in brackets", yaml: withPage("default_text: [Sale] {{.FirstName}}", ""), wantLine: 4, wantMsg: hint},
		{name: "text in braces", yaml: withPage("default_text: {Sale} {{.FirstName}}", ""), wantLine: 4, wantMsg: hint},
		{name: "rule text", yaml: withPage("rules:\n  - match: price\n    text: {{.FirstName}}, prices are on our site", ""), wantLine: 6, wantMsg: hint},
		{name: "rule text in a list item", yaml: withPage("rules:\n  - text: {{.FirstName}}, prices are on our site\n    match: price", ""), wantLine: 5, wantMsg: hint},
		// An indentation mistake on a line without a template keeps its
		// words alone.
		{name: "indentation, no template", yaml: withPage("default_text: hi\n  rate: 5/s", ""), wantLine: 5, wantMsg: "check the indentation", notMsg: hint},
		{name: "quoted template, text after the quote", yaml: withPage("default_text: \"{{.FirstName}}\" thanks", ""), wantLine: 4, notMsg: hint},
		{name: "template in a comment", yaml: withPage("default_text: hi # {{.FirstName}}, thanks\n  rate: 5/s", ""), wantLine: 5, wantMsg: "check the indentation", notMsg: hint},
	} {
		t.Run(tc.name, func(t *testing.T) { checkYAMLError(t, tc) })
	}
}

// A value YAML reads as a { } mapping or a [ ] list where a text is wanted
// (default_text: {{.FirstName}}, access_token: {PAGE_TOKEN}) says to quote
// it, and quotes nothing of the value.
func TestFlowValueForTextSaysQuote_audit19(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, path, want string
	}{
		{"template alone", withPage("default_text: {{.FirstName}}", ""), "pages[0].default_text", "put it in quotes"},
		{"template alone in a rule", withPage("rules:\n  - {match: x, text: {{.Name}}}", ""), "pages[0].rules[0].text", "put it in quotes"},
		{"a secret in braces", "pages:\n  - id: \"123\"\n    access_token: {" + literalSecret + "}\n", "pages[0].access_token", "put it in quotes"},
		// {PAGE_TOKEN}: quoting it would keep the braces; the $ is what
		// is missing.
		{"variable without $", "pages:\n  - id: \"123\"\n    access_token: {PAGE_TOKEN}\n", "pages[0].access_token", "with its $"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), env(nil))
			if err == nil {
				t.Fatal("parsed")
			}
			if !hasFieldError(t, err, tc.path, tc.want) {
				t.Errorf("error %q, want at %s %q", err, tc.path, tc.want)
			}
			for _, piece := range secretPieces() {
				if strings.Contains(err.Error(), piece) {
					t.Errorf("error quotes %q from the file: %v", piece, err)
				}
			}
		})
	}
	// A mapping written as one (block style) where a text is wanted is no
	// quoting mistake.
	_, err := Parse([]byte(withPage("default_text:\n  a: b", "")), env(nil))
	if hasFieldError(t, err, "pages[0].default_text", "quotes") {
		t.Errorf("a block mapping told to be quoted: %v", err)
	}
}

// ${VAR:-default}, ${VAR:=default}, ${VAR:?message} and ${VAR:+other} are
// the shell's and Compose's forms: the loader takes none of them. It said
// "invalid variable name", of a name that is a valid one, which sent the
// user looking at the name. It says now that the form is not supported, and names the variable
// (an environment variable's name, as the unset error names it) but nothing
// after it, which may be a secret written in the file.
func TestVarDefaultFormSaysUnsupported_audit19(t *testing.T) {
	for _, tc := range []struct{ in, want, not string }{
		{in: "${REDIS_URL:-redis://127.0.0.1:6379/0}", want: "${REDIS_URL}"},
		{in: "x${PAGE_TOKEN:+" + literalSecret + "}", want: "${PAGE_TOKEN}", not: literalSecret[:8]},
		{in: "${PAGE_TOKEN:=" + literalSecret + "}", want: "${PAGE_TOKEN}", not: literalSecret[:8]},
		{in: "${PAGE_TOKEN:?}", want: "${PAGE_TOKEN}"},
		// A name not written as an environment variable's may be a
		// secret: the form is said, the name is not.
		{in: "${" + literalSecret + ":-x}", want: "not supported", not: literalSecret[:8]},
	} {
		_, _, err := expand(tc.in, env(map[string]string{"REDIS_URL": "redis://h:6379/1"}))
		if err == nil {
			t.Errorf("%q expanded", tc.in)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "not supported") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "invalid variable name") {
			t.Errorf("%q: %q, want it to say the form is not supported, with %q", tc.in, msg, tc.want)
		}
		if tc.not != "" && strings.Contains(msg, tc.not) {
			t.Errorf("%q: %q quotes what follows the name", tc.in, msg)
		}
	}
	// A name that is not valid keeps its words, and so does a - without
	// the colon: a secret's piece may hold one.
	for _, in := range []string{"${A-B}", "${A:B}", "${:-x}", "${" + literalSecret + "-x}"} {
		if _, _, err := expand(in, env(nil)); err == nil || !strings.Contains(err.Error(), "invalid variable name") {
			t.Errorf("%s: %v, want invalid variable name", in, err)
		}
	}
}

// A Page access token or app secret pasted with what surrounds it (the
// quotes an env file kept: docker run --env-file takes PAGE_TOKEN="EAAB..."
// quotes and all; "Bearer EAAB..." from a curl line; a token broken over
// two lines with a space) passed check, and every Graph call of the Page
// then failed (code 190, "Cannot parse access token"), or every call and
// webhook delivery with the app secret. Meta's tokens and secrets hold no
// white space and no quote: such a one is refused by name, its value never
// shown.
func TestMetaSecretShape_audit19(t *testing.T) {
	const tok = "EAABq7Zx9SecretToken0123"
	for _, tc := range []struct{ name, path, value string }{
		{"token in double quotes", "pages[0].access_token", `"` + tok + `"`},
		{"token in single quotes", "pages[0].access_token", `'` + tok + `'`},
		{"token in typographic quotes", "pages[0].access_token", "\u201c" + tok + "\u201d"},
		{"token after Bearer", "pages[0].access_token", "Bearer " + tok},
		{"token with a space inside", "pages[0].access_token", tok[:10] + " " + tok[10:]},
		{"app secret in quotes", "graph.app_secret", `"0123456789abcdef0123456789abcdef"`},
		{"app secret with a space inside", "graph.app_secret", "0123456789abcdef 0123456789abcdef"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"PAGE_TOKEN": tok, "FB_APP_SECRET": "0123456789abcdef0123456789abcdef"}
			if tc.path == "graph.app_secret" {
				vars["FB_APP_SECRET"] = tc.value
			} else {
				vars["PAGE_TOKEN"] = tc.value
			}
			yaml := "graph:\n  app_secret: ${FB_APP_SECRET}\npages:\n  - id: \"123\"\n    access_token: ${PAGE_TOKEN}\n    default_text: hi\n"
			_, err := Parse([]byte(yaml), env(vars))
			if !hasFieldError(t, err, tc.path, "no quote") {
				t.Fatalf("%s: %v, want a problem at %s", tc.value, err, tc.path)
			}
			for _, piece := range []string{tok[:8], tok[len(tok)-8:], "0123456789abcdef"} {
				if strings.Contains(err.Error(), piece) {
					t.Errorf("error quotes %q: %v", piece, err)
				}
			}
		})
	}
	// Tokens as Meta and the sandbox give them, and the characters a
	// token in another form could hold, pass.
	for _, v := range []string{tok, "EAAB-x_y.z~1+2/3=", "tok"} {
		yaml := "pages:\n  - id: \"123\"\n    access_token: ${PAGE_TOKEN}\n    default_text: hi\n"
		if _, err := Parse([]byte(yaml), env(map[string]string{"PAGE_TOKEN": v})); err != nil {
			t.Errorf("%q refused: %v", v, err)
		}
	}
}
