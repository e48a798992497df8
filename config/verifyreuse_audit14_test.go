package config

import (
	"strings"
	"testing"
)

// TestVerifyTokenOfItsOwn_audit14: Meta sends webhook.verify_token in the
// URL of its subscription handshake (GET /webhook?hub.verify_token=...),
// which a TLS proxy in front logs with the query, and Meta's app dashboard
// shows it to the app's admins. One ${VAR} given to both verify_token and
// api.tokens (or a Page token, the app secret, a Redis password) put that
// other secret in those logs: an API token there lets anyone queue replies
// as the Page. Such a config loaded silently; it is refused, naming the two
// keys and never the value.
func TestVerifyTokenOfItsOwn_audit14(t *testing.T) {
	const value = "shared-secret-value-0123456789"
	env := func(k string) (string, bool) {
		switch k {
		case "SHARED":
			return value, true
		case "OTHER":
			return "another-secret-value-9876543210", true
		}
		return "", false
	}
	base := func(token, appSecret, apiToken, redis string) string {
		return "redis: {url: \"redis://:" + redis + "@127.0.0.1:6379/0\"}\n" +
			"graph: {app_secret: \"" + appSecret + "\"}\n" +
			"webhook: {verify_token: \"${SHARED}\"}\n" +
			"api: {tokens: [\"" + apiToken + "\"]}\n" +
			"pages:\n  - {id: \"1\", access_token: \"" + token + "\", default_text: hi}\n"
	}
	for _, tc := range []struct{ yaml, other string }{
		{base("${OTHER}x", "${OTHER}y", "${SHARED}", "${OTHER}z"), "api.tokens[0]"},
		{base("${SHARED}", "${OTHER}y", "${OTHER}x", "${OTHER}z"), "pages[0].access_token"},
		{base("${OTHER}x", "${SHARED}", "${OTHER}y", "${OTHER}z"), "graph.app_secret"},
		{base("${OTHER}x", "${OTHER}y", "${OTHER}w", "${SHARED}"), "redis.url"},
	} {
		_, err := Parse([]byte(tc.yaml), env)
		if err == nil || !strings.Contains(err.Error(), "webhook.verify_token: ") || !strings.Contains(err.Error(), "the same as "+tc.other) {
			t.Errorf("verify_token shared with %s: %v, want it refused naming %s", tc.other, err, tc.other)
			continue
		}
		if strings.Contains(err.Error(), value) || strings.Contains(err.Error(), "0123456789") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
	// Each secret its own value: loads.
	if _, err := Parse([]byte(base("${OTHER}x", "${OTHER}y", "${OTHER}w", "${OTHER}z")), env); err != nil {
		t.Errorf("distinct secrets: %v", err)
	}
}
