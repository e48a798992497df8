package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestBadSignatureLoggedOnce: deliveries refused for their signature (anyone
// can post to /webhook; a wrong app secret refuses all of Meta's) log one
// WARN, saying what to check, and the next ones at debug: each is still
// refused with 401.
func TestBadSignatureLoggedOnce(t *testing.T) {
	e := newWebhookEnv(t)
	body := `{"object":"page","entry":[]}`
	for i := 0; i < 20; i++ {
		if code, _ := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign("other", body)}); code != http.StatusUnauthorized {
			t.Fatalf("delivery %d: %d, want 401", i, code)
		}
	}
	var warn, debug int
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if !strings.Contains(line, "bad or missing X-Hub-Signature-256") {
			continue
		}
		switch {
		case strings.Contains(line, "level=WARN"):
			warn++
			if !strings.Contains(line, "app_secret") {
				t.Errorf("the WARN line does not say what to check: %s", line)
			}
		case strings.Contains(line, "level=DEBUG"):
			debug++
		}
	}
	if warn != 1 || debug != 19 {
		t.Errorf("%d WARN and %d DEBUG lines for 20 refused deliveries, want 1 and 19:\n%s", warn, debug, e.logs.String())
	}
}
