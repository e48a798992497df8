package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestWebhookOtherPageSaysSo_audit21: Meta delivers the feed changes of
// every Page that installed the app, and the entry's id names the Page. An
// entry of a Page the config does not list (its id mistyped in pages, or a
// Page dropped from pages with the app still installed) has every change
// ignored: before, only a debug line per change said so, and every comment
// of such a Page was lost without a word at the default level. Now one
// WARN names the entry's id and what to do, the next ones (within 10 s) at
// debug; the deliveries are still answered 200 and queue nothing for it,
// and the configured Page's changes beside it are queued.
func TestWebhookOtherPageSaysSo_audit21(t *testing.T) {
	e := newWebhookEnv(t)
	page := e.pages[0].ID
	const other = "9990001"
	bodies := []string{
		`{"object":"page","entry":[{"id":"` + other + `","time":1767000000,"changes":[` + commentChange(other, other+"_1", "1_2", "5", "add") + `]}]}`,
		`{"object":"page","entry":[{"id":"` + other + `","time":1767000001,"changes":[` + commentChange(other, other+"_1", "1_3", "5", "add") + `]},` +
			`{"id":"` + page + `","time":1767000001,"changes":[` + commentChange(page, page+"_1", "1_4", "5", "add") + `]}]}`,
		`{"object":"page","entry":[{"id":"` + other + `","time":1767000002,"messaging":[{"sender":{"id":"7001"},"recipient":{"id":"` + other + `"},"timestamp":1,"message":{"mid":"m_1","text":"hi"}}]}]}`,
	}
	for i, body := range bodies {
		if code, b := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
			t.Fatalf("delivery %d: %d (%s), want 200", i, code, b)
		}
	}
	if n := e.queued(t); n != 1 {
		t.Fatalf("%d tasks queued, want 1 (the configured Page's comment)", n)
	}
	var warn, debug int
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if !strings.Contains(line, "webhook changes of a Page not in the config ignored") {
			continue
		}
		if !strings.Contains(line, "page_id="+other) {
			t.Errorf("the line does not name the entry's id: %s", line)
		}
		switch {
		case strings.Contains(line, "level=WARN"):
			warn++
			if !strings.Contains(line, "subscribed_apps") || !strings.Contains(line, "changes=1") {
				t.Errorf("the WARN line does not say what to do, or how many changes: %s", line)
			}
		case strings.Contains(line, "level=DEBUG"):
			debug++
		}
	}
	if warn != 1 || debug != 1 {
		t.Errorf("%d WARN and %d DEBUG lines for 2 entries of another Page with changes, want 1 and 1:\n%s", warn, debug, e.logs.String())
	}
}
