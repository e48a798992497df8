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

// TestWebhookMarkOtherSpellings_audit21: a hide or remove naming its
// comment in a spelling Graph reads other than its own (Meta's older
// <page-id>_<post>_<comment>, or the bare <comment>, as a string or a JSON
// number, with the post in post_id) marks the comment as Graph spells it,
// <post>_<comment>: the target of its reply, which a webhook item's read and
// the poll both queue. Before, only the spelling the change used was
// marked, and the queued reply went to the comment the Page hid or that was
// deleted. A comment spelt so already, or a bare one whose post is unknown,
// is marked as given.
func TestWebhookMarkOtherSpellings_audit21(t *testing.T) {
	e := newWebhookEnv(t)
	pages, _ := e.serveMarking(t, func(p []config.Page) { p[0].SkipHidden = true })
	p := pages[0].ID
	change := func(verb, commentID, postID string) string {
		return fmt.Sprintf(`{"field":"feed","value":{"item":"comment","verb":%q,"comment_id":%s,"post_id":%q,"from":{"id":"6400001"},"created_time":1700000000}}`,
			verb, commentID, postID)
	}
	changes := []string{
		change("hide", fmt.Sprintf("%q", p+"_77_1"), p+"_77"),
		change("hide", "772", p+"_77"),
		change("remove", `"783"`, p+"_78"),
		change("remove", fmt.Sprintf("%q", p+"_79_4"), ""),
		change("hide", `"80_5"`, p+"_80"),
	}
	body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[%s]}]}`, p, strings.Join(changes, ","))
	if code, ans := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
		t.Fatalf("delivery answered %d %s, want 200", code, ans)
	}
	ctx := context.Background()
	for id, reason := range map[string]string{"77_1": tasks.HiddenReason, "77_772": tasks.HiddenReason, "78_783": tasks.RemovedReason,
		"79_4": tasks.RemovedReason, "80_5": tasks.HiddenReason} {
		if en, err := e.led.Get(ctx, p, tasks.Target{Kind: tasks.KindComment, ID: id}); err != nil || en.Reason != reason {
			t.Errorf("comment %s: entry %+v, %v; want marked %q", id, en, err, reason)
		}
	}
	for _, id := range []string{"80_80_5", "5"} {
		if en, err := e.led.Get(ctx, p, tasks.Target{Kind: tasks.KindComment, ID: id}); err != nil || en.Done() {
			t.Errorf("comment %s, no spelling of one delivered: entry %+v, %v; want none", id, en, err)
		}
	}
}
