package config

import (
	"strings"
	"testing"
)

// TestSecretSpaceReason_audit22: white space at a secret's end is refused
// with why it breaks that kind of value. "compared byte for byte" was said
// of every one, a Page's access_token (sent to Graph) and redis.url (dialed)
// too, where nothing compares it.
func TestSecretSpaceReason_audit22(t *testing.T) {
	const sentinel = "redis: {sentinel: {master: m, addrs: [\"127.0.0.1:26379\"], %s: \"${R}\"}}\n"
	for _, tc := range []struct{ name, yaml, path, why string }{
		{"api token", minimal + "api: {tokens: [\"${R}\"]}\n", "api.tokens[0]", "the secret is compared byte for byte"},
		{"verify_token", minimal + "graph: {app_secret: s3cret}\nwebhook: {verify_token: \"${R}\"}\n", "webhook.verify_token", "the secret is compared byte for byte"},
		{"access_token", "pages:\n  - id: \"1\"\n    access_token: ${R}\n", "pages[0].access_token", "Graph would get the spaces as part of the token"},
		{"app_secret", minimal + "graph: {app_secret: \"${R}\"}\n", "graph.app_secret", "appsecret_proof and the webhook's signatures would be computed with them"},
		{"redis.url", "redis: {url: \"${R}\"}\n" + minimal, "redis.url", "the URL would be dialed with them"},
		{"sentinel password", strings.Replace(sentinel, "%s", "password", 1) + minimal, "redis.sentinel.password", "Redis would get the spaces as part of the password"},
		{"sentinel's own password", strings.Replace(sentinel, "%s", "sentinel_password", 1) + minimal, "redis.sentinel.sentinel_password", "Redis would get the spaces as part of the password"},
		{"cluster password", "redis: {cluster: {addrs: [\"127.0.0.1:7000\"], password: \"${R}\"}}\n" + minimal, "redis.cluster.password", "Redis would get the spaces as part of the password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := "s3cret-value\n"
			if tc.path == "redis.url" {
				v = "redis://:s3cret-value@127.0.0.1:6379/0\n"
			}
			_, err := Parse([]byte(tc.yaml), env(map[string]string{"R": v}))
			want := "starts or ends with white space (often the newline that ends the file or variable it was read from): remove it, " + tc.why
			if !hasFieldError(t, err, tc.path, want) {
				t.Fatalf("no error at %s saying %q in: %v", tc.path, want, err)
			}
			if strings.Contains(err.Error(), "s3cret-value") {
				t.Errorf("the value is shown: %v", err)
			}
		})
	}
}
