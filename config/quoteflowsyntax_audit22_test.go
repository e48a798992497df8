package config

import "testing"

// TestFlowSyntaxHintFitsKey_audit22: a [ ] or { } value that YAML cannot
// even parse (redis.url: [::1]:6379, an IPv6 address written as in a URL)
// says to quote it, without the reply text's example "{{.FirstName}},
// thanks!", which sent a user looking for a template in a Redis URL (the
// type error's path had been fixed so, the syntax error's had not); a reply
// text's key keeps the example.
func TestFlowSyntaxHintFitsKey_audit22(t *testing.T) {
	const example = `like "{{.FirstName}}, thanks!"`
	for _, tc := range []yamlErrorCase{
		{name: "redis url, IPv6 in brackets", yaml: "redis:\n  url: [::1]:6379\npages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n",
			wantLine: 2, wantMsg: "put it in quotes", notMsg: example},
		{name: "graph base_url in braces", yaml: "graph:\n  base_url: {http://127.0.0.1:8089} x\npages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n",
			wantLine: 2, wantMsg: "put it in quotes", notMsg: example},
		{name: "default_text in brackets", yaml: withPage("default_text: [Sale] today", ""), wantLine: 4, wantMsg: example},
		{name: "rule text with a template", yaml: withPage("rules:\n  - match: price\n    text: {{.FirstName}}, prices are on our site", ""), wantLine: 6, wantMsg: example},
	} {
		t.Run(tc.name, func(t *testing.T) { checkYAMLError(t, tc) })
	}
}
