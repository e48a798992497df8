package api_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestWebhookNumericEntryIDAudit19: Meta wrote Page and entry ids as JSON
// numbers before it switched them to strings (2016), and for a while wrote
// them either way by event (a postback's entry "id":123 beside a message's
// "id":"123"), as it still writes sender_id as a number in older value
// shapes. An entry whose id is a number is read as the same id: its Page's
// comment is queued and answered (not the whole delivery refused with 400,
// which Meta redelivers for hours, refused each time, its other entries'
// comments with it), a Messenger entry of that shape batched beside a feed
// entry does not hold the feed change back, and an id of another type (an
// object) is still a 400 naming entry.id.
func TestWebhookNumericEntryIDAudit19(t *testing.T) {
	e := newWebhookEnv(t)
	e.startWorker(t)
	page := e.pages[0].ID
	post := e.sb.AddPost(page, sandbox.User{}, "A post", time.Now().Add(-time.Hour))
	c1 := e.sb.AddComment(post, sandbox.User{ID: "100000000000077", Name: "Ana Lopez"}, "hello", time.Now())
	c2 := e.sb.AddComment(post, sandbox.User{ID: "100000000000088", Name: "Ben Smith"}, "hi", time.Now())

	deliver := func(body string) (int, string) {
		t.Helper()
		return e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)})
	}
	numeric := `{"object":"page","entry":[{"id":` + page + `,"time":1,"changes":[` +
		commentChange(page, post, c1, "100000000000077", "add") + `]}]}`
	if code, b := deliver(numeric); code != http.StatusOK {
		t.Fatalf("entry id as a number: %d %s, want 200", code, b)
	}
	mixed := `{"object":"page","entry":[` +
		`{"id":` + page + `,"time":1,"messaging":[{"sender":{"id":"5"},"recipient":{"id":"` + page + `"},"timestamp":1,"postback":{"title":"Go","payload":"GO"}}]},` +
		`{"id":"` + page + `","time":1,"changes":[` + commentChange(page, post, c2, "100000000000088", "add") + `]}]}`
	if code, b := deliver(mixed); code != http.StatusOK {
		t.Fatalf("numeric messaging entry beside a feed entry: %d %s, want 200", code, b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for (e.sb.SendCount(c1) == 0 || e.sb.SendCount(c2) == 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e.sb.SendCount(c1) != 1 || e.sb.SendCount(c2) != 1 {
		t.Fatalf("sends: %s %d, %s %d; want one each", c1, e.sb.SendCount(c1), c2, e.sb.SendCount(c2))
	}

	code, b := deliver(`{"object":"page","entry":[{"id":{"x":1},"time":1,"changes":[]}]}`)
	var m map[string]any
	_ = json.Unmarshal([]byte(b), &m)
	if code != http.StatusBadRequest || errField(m) != "entry.id" {
		t.Fatalf("entry id as an object: %d %s, want 400 naming entry.id", code, b)
	}
}
