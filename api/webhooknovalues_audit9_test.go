package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestWebhookWithoutValuesSaysSoAudit9: an app whose subscription has
// Include Values off gets deliveries that name the changed fields and not
// the changes. Meta's Webhooks guide
// (developers.facebook.com/docs/graph-api/webhooks/getting-started, "Event
// Notifications", the entry's properties) says of them: changed_fields, "An
// array of strings indicating the names of the fields that have been
// changed. Only included if you disable the Include Values setting when
// configuring the Webhooks product in your app's App Dashboard", and
// changes, "Only included if you enable the Include Values setting". Such a
// delivery is answered 200 (Meta would redeliver it for hours otherwise)
// and nothing is queued from it, but every comment of the Page is then left
// to the poll: one WARN says why and what to turn on, the next ones (every
// delivery of such a subscription) at debug. Before, only the delivery's
// debug line ("queued=0 ... ignored=0") said anything. A changed_fields of
// another shape refuses nothing.
func TestWebhookWithoutValuesSaysSoAudit9(t *testing.T) {
	e := newWebhookEnv(t)
	page := e.pages[0].ID
	bodies := []string{
		`{"object":"page","entry":[{"id":"` + page + `","time":1767000000,"changed_fields":["feed"]}]}`,
		`{"object":"page","entry":[{"id":"` + page + `","time":1767000001,"changed_fields":["feed"]},{"id":"` + page + `","time":1767000001,"changed_fields":["feed"]}]}`,
		`{"object":"page","entry":[{"id":"` + page + `","time":1767000002,"changed_fields":"feed"}]}`,
	}
	for i, body := range bodies {
		if code, b := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
			t.Fatalf("delivery %d: %d (%s), want 200", i, code, b)
		}
	}
	if n := e.queued(t); n != 0 {
		t.Fatalf("%d tasks queued from deliveries without values", n)
	}
	var warn, debug int
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if !strings.Contains(line, "webhook delivery without values") {
			continue
		}
		switch {
		case strings.Contains(line, "level=WARN"):
			warn++
			if !strings.Contains(line, "Include Values") || !strings.Contains(line, "page_id="+page) {
				t.Errorf("the WARN line does not say what to turn on, or for which Page: %s", line)
			}
		case strings.Contains(line, "level=DEBUG"):
			debug++
		}
	}
	if warn != 1 || debug != 2 {
		t.Errorf("%d WARN and %d DEBUG lines for 3 entries without values, want 1 and 2:\n%s", warn, debug, e.logs.String())
	}
}
