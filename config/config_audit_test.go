package config

import (
	"slices"
	"strings"
	"testing"
)

// TestParseRefusesAudit: configurations the validation must refuse, each
// at its key.
func TestParseRefusesAudit(t *testing.T) {
	for _, tc := range []struct{ name, yaml, path, msg string }{
		{"negative redis db", minimal + "redis: {url: \"redis://127.0.0.1:6379/-1\"}\n", "redis.url", "database number"},
		{"port 0 to dial", minimal + "redis: {sentinel: {master: m, addrs: [\"h:0\"]}}\n", "redis.sentinel.addrs[0]", "no valid port"},
		{"polls hourly on the 1st only", withPage(`schedule: "0 * 1 * *"`, ""), "pages[0].schedule", "polls up to"},
		{"example password after a %20", minimal + "redis: {url: \"redis://:%20FAKE-redis-pw@127.0.0.1:6379/0\"}\n", "redis.url", "dummy value"},
		{"quoted << is no merge", withPage(`"<<": {schedule: "@hourly"}`, ""), "pages[0]", "unknown key"},
		{"bool in mixed case", minimal + "api: {monitor: tRuE}\n", "api.monitor", "not true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.yaml), env(nil)); !hasFieldError(t, err, tc.path, tc.msg) {
				t.Errorf("no error at %q containing %q in: %v", tc.path, tc.msg, err)
			}
		})
	}
}

// TestEmptyHiddenVariablesAudit: empty variables are named together ("are"),
// and one whose name is not written as environment variables are is not
// named but still reported.
func TestEmptyHiddenVariablesAudit(t *testing.T) {
	_, err := Parse([]byte("pages:\n  - {id: \"1\", access_token: \"${A}${B}\"}\napi: {tokens: [\"${someTok3n}\"]}\n"),
		env(map[string]string{"A": "", "B": "", "someTok3n": ""}))
	got := map[string]string{}
	for _, fe := range fieldErrors(t, err) {
		got[fe.Path] = fe.Msg
	}
	for path, want := range map[string]string{
		"pages[0].access_token": "${A} and ${B} are set but empty",
		"api.tokens[0]":         "a variable in ${...} is set but empty",
	} {
		if !strings.Contains(got[path], want) {
			t.Errorf("%s: %q, want it to say %q", path, got[path], want)
		}
	}
	if strings.Contains(err.Error(), "someTok3n") {
		t.Errorf("error names a variable not written as environment variables are: %v", err)
	}
}

// TestClusterPasswordInFileAudit: a cluster password written in the file is
// reported as a secret in the file.
func TestClusterPasswordInFileAudit(t *testing.T) {
	c := mustParse(t, "redis: {cluster: {addrs: [\"h:7000\"], password: \"literal-pw\"}}\npages:\n  - {id: \"1\", access_token: \"${TOK}\"}\n", map[string]string{"TOK": "tok-from-env"})
	if got := c.SecretsInFile(); !slices.Equal(got, []string{"redis.cluster.password"}) {
		t.Errorf("SecretsInFile() = %q, want [redis.cluster.password]", got)
	}
}

// TestRenderDropsControlsAudit: a control character in what a person wrote
// is dropped from the reply, not a reason to send none.
func TestRenderDropsControlsAudit(t *testing.T) {
	c := mustParse(t, withPage(`default_text: "Hi {{.FirstName}}: {{.Message}}"`, ""), nil)
	text, ok, err := c.Pages[0].Render(TemplateData{Name: "Al\x1bex Doe", Message: "hi\x07there"})
	if err != nil || !ok || text != "Hi Alex: hithere" {
		t.Errorf("Render = %q, %v, %v; want \"Hi Alex: hithere\"", text, ok, err)
	}
}
