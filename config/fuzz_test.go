package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that it returns either a
// config or an error made of FieldErrors, and that no error shows the value
// of an environment variable.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile("../pagereply.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(example))
	f.Add(minimal)
	f.Add(withPage("rules: [{match: \"(?i)a\", text: \"{{.FirstName}}\"}]\nrate: 5/m", "redis: {cluster: {addrs: [\"h:1\"]}}\n"))
	f.Add("pages:\n  - &p {id: \"1\", access_token: \"${S}\"}\n  - <<: *p\n    id: \"2\"\n")
	f.Add("redis: {url: \"redis://:${S}@h:1/0\"}\ngraph: {version: \"${S}\"}\n")
	f.Add("a: &a [*a]\n")
	f.Add("pages: [{<<: [{id: 1}, {access_token: x}]}]")
	f.Add("# *tok\npages:\n  - {id: \"1\", access_token: *tok}\n  - {access_token:tok}\n")
	f.Add("a:\n  - b\n c: [d\n\te: \"f\\q\"\n")
	// redis.url written in the file, with a password (redisPW): a bare
	// host:port, a # or / in the password, another scheme.
	const redisPW = "zq7pw"
	for _, u := range []string{"default:zq7pw@127.0.0.1:6379", "redis://:zq7pw@h:1/0", "redis://u:zq7#pw@h:6379/0",
		"redis://u:zq/7pw@h:6379/0", "http://:zq7pw@h:1", "redis://:zq7pw@/0", "rediss://:zq7pw@h:1/x"} {
		f.Add(minimal + "redis: {url: \"" + u + "\"}\n")
	}
	const secret = "zq7-fuzz-secret"
	lookup := func(k string) (string, bool) {
		if k == "S" {
			return secret, true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data string) {
		c, err := Parse([]byte(data), lookup)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v", c, err)
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FieldError", err)
			}
			if strings.Contains(err.Error(), secret) && !strings.Contains(data, secret) {
				t.Fatalf("error shows the secret: %v", err)
			}
			// redis.url's messages never repeat the URL: it may hold a
			// password.
			for _, fe := range fieldErrors(t, err) {
				if strings.HasPrefix(fe.Path, "redis.url") && strings.Contains(fe.Msg, redisPW) {
					t.Fatalf("redis.url's message shows its password: %v", fe)
				}
			}
			return
		}
		for i := range c.Pages {
			c.Pages[i].Render(TemplateData{Name: "A B", Message: "price"})
		}
		_ = c.Redis.Describe()
	})
}
