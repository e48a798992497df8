package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCheck: check loads a config without Redis or Graph (its Redis URL
// points nowhere), says what it found and exits 0; an invalid config, or one
// without API tokens for the api role, exits 2 naming the problem; no secret
// reaches its output.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, yaml string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const token, secret, apiToken = "EAABsecretpagetoken", "s3cr3t-app-secret", "0123456789abcdef0123456789"
	good := write("good.yaml", "redis:\n  url: redis://:hunter2@"+freeAddr(t)+"/3\ngraph:\n  app_secret: "+secret+"\n"+
		"pages:\n  - id: \"123\"\n    access_token: \""+token+"\"\n    rate: 5/m\n    person_gap: 3s\n    default_text: \"hi\"\n"+
		"  - id: \"456\"\n    access_token: \""+token+"\"\n    person_gap: 0s\n"+
		"api:\n  tokens: [\""+apiToken+"\"]\n")
	out, errOut, code := run(t, "check", "-c", good)
	for _, want := range []string{good + ": valid; 2 Pages", "page 123: rate 5/m burst 1, person_gap 3s,", "page 456: rate 10/s burst 1, person_gap off,", "warning: page 456 has no rules and no default_text",
		// Every secret of this file is written in it.
		"warning: redis.url is a secret written in the file", "warning: graph.app_secret is a secret", "warning: pages[0].access_token is a secret",
		"warning: pages[1].access_token is a secret", "warning: api.tokens[0] is a secret"} {
		if !strings.Contains(out, want) {
			t.Errorf("check of a valid config: no %q in\n%s", want, out)
		}
	}
	if code != exitOK {
		t.Fatalf("check of a valid config: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, s := range []string{token, secret, apiToken, "hunter2"} {
		if strings.Contains(out+errOut, s) {
			t.Fatalf("check printed a secret (%s):\n%s%s", s, out, errOut)
		}
	}

	t.Setenv("CHECK_TEST_TOKEN", token)
	fromEnv := write("env.yaml", "pages:\n  - id: \"123\"\n    access_token: ${CHECK_TEST_TOKEN}\n    default_text: \"hi\"\n")
	if out, errOut, code := run(t, "check", "-c", fromEnv, "--insecure"); code != exitOK || strings.Contains(out, "secret written") {
		t.Errorf("check of a config taking its token from the environment: exit %d\n%s%s", code, out, errOut)
	}

	// A password written where the user name goes: a warning, and not shown.
	t.Setenv("CHECK_TEST_REDIS_PASSWORD", "SuperSecretRedisPw77")
	userOnly := write("useronly.yaml", "redis:\n  url: redis://${CHECK_TEST_REDIS_PASSWORD}@"+freeAddr(t)+"/3\npages:\n  - id: \"123\"\n    access_token: ${CHECK_TEST_TOKEN}\n    default_text: \"hi\"\n")
	out, errOut, code = run(t, "check", "-c", userOnly, "--insecure")
	if code != exitOK || !strings.Contains(out, "Redis redis://***@") || !strings.Contains(out, "warning: redis.url names a user and no password") ||
		strings.Contains(out+errOut, "SuperSecretRedisPw77") {
		t.Errorf("check of a password written as the user name: exit %d\n%s%s", code, out, errOut)
	}

	bad := write("bad.yaml", "redis:\n  url: redis://127.0.0.1:6379/0\npages:\n  - id: \"abc\"\n    access_token: \"\"\n")
	_, errOut, code = run(t, "check", "-c", bad)
	if code != exitUsage || !regexp.MustCompile(`pages\[0\]\.(id|access_token)`).MatchString(errOut) {
		t.Fatalf("check of an invalid config: exit %d\n%s", code, errOut)
	}

	noTokens := write("notokens.yaml", "redis:\n  url: redis://127.0.0.1:6379/0\ngraph:\n  app_secret: x\npages:\n  - id: \"123\"\n    access_token: \"t\"\n    default_text: \"hi\"\n")
	if _, errOut, code = run(t, "check", "-c", noTokens); code != exitUsage || !strings.Contains(errOut, "api.tokens is empty") {
		t.Fatalf("check without API tokens: exit %d\n%s", code, errOut)
	}
	for _, args := range [][]string{{"--roles", "scheduler,worker"}, {"--insecure"}} {
		if out, errOut, code := run(t, append([]string{"check", "-c", noTokens}, args...)...); code != exitOK {
			t.Fatalf("check %v without API tokens: exit %d\n%s%s", args, code, out, errOut)
		}
	}
}

// TestCheckSecretWithNewline: an API token, verify token, app secret or Page
// token read with the newline that ends its file or variable fails check
// (exit 2, each key named, no value shown). Before, check passed it and then
// every /v1 call was 401, the webhook handshake and every delivery failed,
// and Graph refused the Page's token.
func TestCheckSecretWithNewline(t *testing.T) {
	secrets := map[string]string{
		"CHECK_NL_API_TOKEN":    "0123456789abcdef0123456789abcdef\n",
		"CHECK_NL_VERIFY_TOKEN": "verify-token-value\n",
		"CHECK_NL_APP_SECRET":   "app-secret-value\r\n",
		"CHECK_NL_PAGE_TOKEN":   " EAABpagetokenvalue",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	cfg := filepath.Join(t.TempDir(), "nl.yaml")
	yaml := "redis:\n  url: redis://" + freeAddr(t) + "/3\ngraph:\n  app_secret: ${CHECK_NL_APP_SECRET}\n" +
		"webhook:\n  verify_token: ${CHECK_NL_VERIFY_TOKEN}\n" +
		"pages:\n  - id: \"123\"\n    access_token: ${CHECK_NL_PAGE_TOKEN}\n    default_text: \"hi\"\n" +
		"api:\n  tokens: [\"${CHECK_NL_API_TOKEN}\"]\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "check", "-c", cfg)
	if code != exitUsage {
		t.Fatalf("check of secrets with white space: exit %d\n%s%s", code, out, errOut)
	}
	for _, key := range []string{"graph.app_secret", "webhook.verify_token", "pages[0].access_token", "api.tokens[0]"} {
		if !strings.Contains(errOut, key+": starts or ends with white space") {
			t.Errorf("no %s in\n%s", key, errOut)
		}
	}
	for _, v := range secrets {
		if strings.Contains(out+errOut, strings.TrimSpace(v)) {
			t.Fatalf("check printed a secret (%q):\n%s%s", v, out, errOut)
		}
	}
}
