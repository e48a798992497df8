package config

import (
	"strings"
	"testing"
)

// TestFlowValueHintFitsKey_audit22: a [ ] list or { } mapping where a key
// wants a string says to quote it; the example of a reply text,
// "{{.FirstName}}, thanks!", is given only at a reply text's key: at
// redis.url: [redis://...] it sent a new user looking for a template in a
// Redis URL.
func TestFlowValueHintFitsKey_audit22(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, path string
		example          bool
	}{
		{"redis url in brackets", "redis:\n  url: [redis://127.0.0.1:6379/0]\npages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n", "redis.url", false},
		{"schedule in braces", withPage("schedule: {every: 1m}", ""), "pages[0].schedule", false},
		{"default_text", withPage("default_text: {{.FirstName}}", ""), "pages[0].default_text", true},
		{"rule text", withPage("rules:\n  - {match: x, text: {{.Name}}}", ""), "pages[0].rules[0].text", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.yaml), env(nil))
			if err == nil {
				t.Fatal("parsed")
			}
			if !hasFieldError(t, err, tc.path, "put it in quotes") {
				t.Fatalf("error %q, want at %s to quote it", err, tc.path)
			}
			if got := strings.Contains(err.Error(), "{{.FirstName}}, thanks!"); got != tc.example {
				t.Errorf("error %q: the reply text's example given %v, want %v", err, got, tc.example)
			}
		})
	}
}
