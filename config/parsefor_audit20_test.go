package config

import (
	"errors"
	"strings"
	"testing"
)

// TestParseForUnsetUnused_audit20: ParseFor lets a ${VAR} be unset at a key
// its caller does not use (listed by Unset, naming the key and the
// variable), refuses one at a key it uses as Parse does, and judges no other
// key by the missing value: a webhook whose app secret's variable is unset
// is not "without graph.app_secret", and a verify_token whose variable is
// unset still turns the webhook on for the schedule's check (a Page polled
// every 200h with the webhook on is valid).
func TestParseForUnsetUnused_audit20(t *testing.T) {
	yaml := `graph:
  app_secret: ${AUDIT20_SECRET}
webhook:
  verify_token: ${AUDIT20_VERIFY}
pages:
  - id: "11"
    access_token: ${AUDIT20_TOKEN}
    schedule: "@every 200h"
    default_text: hi
  - id: "22"
    access_token: EAABliteraltoken22
    default_text: hi
`
	env := func(string) (string, bool) { return "", false }
	redisOnly := func(_ *Config, key string) bool {
		return strings.HasPrefix(key, "redis") || strings.HasSuffix(key, ".id")
	}
	c, err := ParseFor([]byte(yaml), env, redisOnly)
	if err != nil {
		t.Fatalf("ParseFor with the unset variables' keys unused: %v", err)
	}
	var got []string
	for _, e := range c.Unset() {
		got = append(got, e.Error())
	}
	want := []string{
		"graph.app_secret: environment variable AUDIT20_SECRET is not set (line 2)",
		"webhook.verify_token: environment variable AUDIT20_VERIFY is not set (line 4)",
		"pages[0].access_token: environment variable AUDIT20_TOKEN is not set (line 7)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Unset:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if c.Pages[0].AccessToken != "" || c.Graph.AppSecret != "" {
		t.Errorf("unset keys hold values")
	}

	// A key used: refused as Parse refuses it, and the other unset keys not
	// used are not named.
	tokenToo := func(c *Config, key string) bool { return redisOnly(c, key) || key == "pages[0].access_token" }
	_, err = ParseFor([]byte(yaml), env, tokenToo)
	var fe *FieldError
	if !errors.As(err, &fe) || err.Error() != "pages[0].access_token: environment variable AUDIT20_TOKEN is not set (line 7)" {
		t.Errorf("ParseFor with the token used: %v", err)
	}
	// Parse: every unset variable, and nothing else.
	_, err = Parse([]byte(yaml), env)
	if err == nil || !strings.HasPrefix(err.Error(), "3 problems:") {
		t.Errorf("Parse: %v, want the 3 unset variables alone", err)
	}
}
