package config

import (
	"errors"
	"strings"
	"testing"
)

// TestRedisURLUnsetOneProblem_audit10: a redis.url whose variable is unset
// (the systemd units' EnvironmentFile not read, say) is one problem, naming
// the variable, not two: "redis: set one of url, sentinel or cluster" beside
// it read as if the file wrote no url at all.
func TestRedisURLUnsetOneProblem_audit10(t *testing.T) {
	yaml := "redis:\n  url: ${REDIS_URL}\npages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	_, err := Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("Parse: %v, want the unset variable", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "redis.url: environment variable REDIS_URL is not set") {
		t.Errorf("the error does not name the variable: %s", msg)
	}
	if strings.Contains(msg, "set one of url, sentinel or cluster") {
		t.Errorf("a second problem for the same url: %s", msg)
	}
	// Without the url key at all, the default applies: no problem.
	if _, err := Parse([]byte("pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"), nil); err != nil {
		t.Errorf("no redis key: %v", err)
	}
	// An empty redis.url (the variable set but empty) still says what to set.
	_, err = Parse([]byte(yaml), func(string) (string, bool) { return "", true })
	if err == nil || !strings.Contains(err.Error(), "set one of url, sentinel or cluster") {
		t.Errorf("an empty REDIS_URL: %v, want what to set", err)
	}
}
