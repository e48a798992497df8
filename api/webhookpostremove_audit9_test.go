package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// TestPostRemoveMarksAudit9: on a Page with posts in reply_to, a feed
// change of item post or status with verb remove marks post:<post_id>
// removed in the ledger, in the shape of restfb's fixture of a real
// delivery (src/test/resources/json/webhooks/feed-post-remove-25.json:
// {"recipient_id":<page>,"item":"post","verb":"remove","post_id":"<page>_<n>",
// "sender_id":<page>,"created_time":<s>}). A remove of item photo, video
// or share marks nothing (it may name the post that held the media), nor
// does a post's remove on a Page without posts in reply_to; one without a
// post_id is ignored saying why. The others in the delivery are answered
// as before (200).
func TestPostRemoveMarksAudit9(t *testing.T) {
	e := newWebhookEnv(t)
	pages, logs := e.serveMarking(t, func(p []config.Page) { p[1].ReplyTo = []string{config.ReplyComments} })
	p, other := pages[0].ID, pages[1].ID
	remove := func(page, item, postID string) string {
		return `{"field":"feed","value":{"recipient_id":` + page + `,"item":"` + item + `","verb":"remove","post_id":"` + postID +
			`","sender_id":` + page + `,"created_time":1767000000}}`
	}
	changes := []string{
		remove(p, "status", p+"_81"),
		remove(p, "post", p+"_82"),
		remove(p, "photo", p+"_83"),
		remove(p, "video", p+"_84"),
		remove(p, "share", p+"_85"),
		`{"field":"feed","value":{"item":"post","verb":"remove","recipient_id":` + p + `}}`,
	}
	body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[%s]},{"id":%q,"time":1,"changes":[%s]}]}`,
		p, strings.Join(changes, ","), other, remove(other, "post", other+"_86"))
	code, ans := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)})
	if code != http.StatusOK {
		t.Fatalf("delivery answered %d %s, want 200", code, ans)
	}
	ctx := context.Background()
	for _, id := range []string{p + "_81", p + "_82"} {
		if en, err := e.led.Get(ctx, p, tasks.Target{Kind: tasks.KindPost, ID: id}); err != nil || en.Status != tasks.StatusFailed || en.Reason != tasks.PostRemovedReason {
			t.Errorf("remove of post %s: entry %+v, %v; want failed, %q", id, en, err, tasks.PostRemovedReason)
		}
	}
	for page, ids := range map[string][]string{p: {p + "_83", p + "_84", p + "_85"}, other: {other + "_86"}} {
		for _, id := range ids {
			if en, err := e.led.Get(ctx, page, tasks.Target{Kind: tasks.KindPost, ID: id}); err != nil || en.Status != tasks.StatusNone {
				t.Errorf("post %s of page %s: entry %+v, %v; want none", id, page, en, err)
			}
		}
	}
	out := logs.String()
	if !strings.Contains(out, `why="malformed remove: post_id: missing or malformed"`) {
		t.Errorf("log lacks the malformed remove:\n%s", out)
	}
	if !strings.Contains(out, "queued=2 already_queued=0 ignored=5") {
		t.Errorf("delivery's counts:\n%s", out)
	}
}
