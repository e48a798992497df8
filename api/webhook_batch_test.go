package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// metaEscape writes s as Meta's webhook bodies do: every non-ASCII rune as a
// \uXXXX escape (Meta signs "an escaped unicode version of the payload").
func metaEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// TestWebhookFullMetaBatch: Meta batches up to 1,000 updates in one delivery.
// 1,000 new comments of 168 Cyrillic characters each, escaped as Meta escapes
// them (6 bytes a character) and with the post object Meta adds to a
// comment's change, make about 1.4 MB: the delivery is taken and every
// comment queued. With a 1 MiB limit it was refused 413, delivered again and
// refused again, and none of its comments was queued.
func TestWebhookFullMetaBatch(t *testing.T) {
	e := newWebhookEnv(t)
	page := e.pages[0].ID
	msg := metaEscape(strings.Repeat("Здравствуйте, ", 12))
	now := time.Now().Unix()
	entries := make([]string, 0, 1000)
	for i := 0; i < 1000; i++ {
		post := fmt.Sprintf("%s_%d", page, 7000000+i%10)
		comment := fmt.Sprintf("%d_%d", 7000000+i%10, 8100000+i)
		entries = append(entries, fmt.Sprintf(`{"id":%q,"time":%d,"changes":[{"value":{"from":{"id":"%d","name":"\u0410\u043d\u043d\u0430"},`+
			`"post":{"status_type":"added_photos","is_published":true,"updated_time":"2026-12-01T10:00:00+0000","permalink_url":"https://www.facebook.com/%s","promotion_status":"inactive","id":%q},`+
			`"message":"%s","post_id":%q,"comment_id":%q,"created_time":%d,"item":"comment","parent_id":%q,"verb":"add"},"field":"feed"}]}`,
			page, now, 100000000000000+i, post, post, msg, post, comment, now, post))
	}
	body := `{"entry":[` + strings.Join(entries, ",") + `],"object":"page"}`
	if len(body) <= 1<<20 {
		t.Fatalf("the batch is %d bytes: not past the old 1 MiB limit, the test shows nothing", len(body))
	}
	code, b := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)})
	if code != http.StatusOK {
		t.Fatalf("a batch of 1,000 comments (%d bytes) answered %d (%s), want 200", len(body), code, strings.TrimSpace(b))
	}
	if n := e.queued(t); n != 1000 {
		t.Fatalf("%d items queued, want 1000", n)
	}
}
