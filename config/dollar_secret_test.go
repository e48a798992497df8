package config

import "testing"

// A secret that really is "$NAME" — written "$$NAME" as the loader asks for a
// literal $, or the value of a ${VAR} — is not the mistake of writing $NAME
// for ${NAME}, and must not be refused.
func TestDollarSecretNotRefused(t *testing.T) {
	env := map[string]string{"PAGE_TOKEN": "$ABC123"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for name, y := range map[string]string{
		"escaped in the file":    "pages:\n  - id: \"1\"\n    access_token: $$ABC123\n",
		"from the environment":   "pages:\n  - id: \"1\"\n    access_token: ${PAGE_TOKEN}\n",
		"redis password escaped": minimal + "redis: {sentinel: {master: m, addrs: [\"h:1\"], password: $$REDISPW}}\n",
	} {
		c, err := Parse([]byte(y), lookup)
		if err != nil {
			t.Errorf("%s: refused: %v", name, err)
			continue
		}
		_ = c
	}
}
