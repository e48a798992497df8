package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/config"
)

// TestSystemdOneOffVariables_audit20: deploy/README.md said the one-off
// commands need every secret of pagereply.env and exit 2 naming each unset
// variable, which stopped being true when a command began to refuse only
// the variables of the keys it uses (config.ParseFor). The paragraph now
// says what each needs of that file; this holds it to the code, on the
// systemd configuration it is about.
func TestSystemdOneOffVariables_audit20(t *testing.T) {
	readme, err := os.ReadFile("../../deploy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	para := regexp.MustCompile("(?s)The other commands \\(`status`.*?\\. Run").Find(readme)
	if para == nil {
		t.Fatal("deploy/README.md: no paragraph on the other commands' variables")
	}
	text := strings.Join(strings.Fields(string(para)), " ")
	for _, w := range []string{"`REDIS_URL` for every one", "`poll` its Page's token and `FB_APP_SECRET`", "`enqueue` and `check` all of them"} {
		if !strings.Contains(text, w) {
			t.Errorf("deploy/README.md's paragraph does not say %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "naming each unset variable") {
		t.Errorf("deploy/README.md still says every unset variable stops them:\n%s", text)
	}

	data, err := os.ReadFile("../../deploy/systemd/pagereply.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const page = "1983306698425200"
	env := func(names ...string) func(string) (string, bool) {
		vals := map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0", "PAGE_TOKEN": "EAAtoken0123456789",
			"FB_APP_SECRET": "0123456789abcdef0123456789abcdef", "FB_VERIFY_TOKEN": "verify-0123456789", "PAGEREPLY_API_TOKEN": "api-token-0123456789abcdef"}
		return func(n string) (string, bool) {
			for _, m := range names {
				if m == n {
					return vals[n], true
				}
			}
			return "", false
		}
	}
	for _, tc := range []struct {
		name string
		uses func(*config.Config, string) bool
		set  []string
		ok   bool
	}{
		{"status", usesRedisAndPageIDs, []string{"REDIS_URL"}, true},
		{"resume", usesRedisAndPageIDs, []string{"REDIS_URL"}, true},
		{"enqueue", usesEnqueue(page, false), []string{"REDIS_URL", "PAGE_TOKEN", "FB_APP_SECRET", "FB_VERIFY_TOKEN", "PAGEREPLY_API_TOKEN"}, true},
		{"enqueue without PAGEREPLY_API_TOKEN", usesEnqueue(page, false), []string{"REDIS_URL", "PAGE_TOKEN", "FB_APP_SECRET", "FB_VERIFY_TOKEN"}, false},
		{"status without REDIS_URL", usesRedisAndPageIDs, nil, false},
		{"poll", usesPoll(page), []string{"REDIS_URL", "PAGE_TOKEN", "FB_APP_SECRET"}, true},
		{"poll without FB_APP_SECRET", usesPoll(page), []string{"REDIS_URL", "PAGE_TOKEN"}, false},
		{"check without FB_VERIFY_TOKEN", nil, []string{"REDIS_URL", "PAGE_TOKEN", "FB_APP_SECRET", "PAGEREPLY_API_TOKEN"}, false},
	} {
		_, err := config.ParseFor(data, env(tc.set...), tc.uses)
		if (err == nil) != tc.ok {
			t.Errorf("%s with %v set: %v; want ok %v", tc.name, tc.set, err, tc.ok)
		}
	}
}
