package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestBadHandshakeLoggedOnce_audit10: handshakes refused for their verify
// token (anyone can GET /webhook; scanners do, with no query at all) log one
// WARN, saying what to check, and the next ones at debug: each is still
// refused with 403, and no line holds the token tried.
func TestBadHandshakeLoggedOnce_audit10(t *testing.T) {
	e := newWebhookEnv(t)
	const tried = "someone-elses-guess-at-the-token"
	for i := 0; i < 20; i++ {
		q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {tried}, "hub.challenge": {"c"}}.Encode()
		if i%2 == 1 {
			q = "" // a scanner's bare GET /webhook
		}
		resp, err := http.Get(e.srv.URL + "/webhook?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("handshake %d: %d, want 403", i, resp.StatusCode)
		}
	}
	logs := e.logs.String()
	if strings.Contains(logs, tried) {
		t.Errorf("a log line holds the verify token tried:\n%s", logs)
	}
	var warn, debug int
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "webhook handshake refused") {
			continue
		}
		switch {
		case strings.Contains(line, "level=WARN"):
			warn++
			if !strings.Contains(line, "verify_token") || !strings.Contains(line, "remote=") {
				t.Errorf("the WARN line does not say what to check or who asked: %s", line)
			}
		case strings.Contains(line, "level=DEBUG"):
			debug++
		}
	}
	if warn != 1 || debug != 19 {
		t.Errorf("%d WARN and %d DEBUG lines for 20 refused handshakes, want 1 and 19:\n%s", warn, debug, logs)
	}
}
