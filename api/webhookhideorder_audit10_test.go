package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// TestHideOrderReadsCreatedTimeAudit10: the webhook orders a comment's hides
// and unhides by the change's created_time, read as Meta sends it (Unix
// seconds) and leniently as a string, in milliseconds or in Graph's layout:
// an unhide delivered first leaves nothing for the older hide delivered
// after it to mark, a newer hide marks, and an older unhide delivered after
// it leaves the mark. Each is answered 200 (an older change is not an
// error: Meta would only deliver it again).
func TestHideOrderReadsCreatedTimeAudit10(t *testing.T) {
	e := newWebhookEnv(t)
	pages, logs := e.serveMarking(t, func(p []config.Page) { p[0].SkipHidden = true })
	p := pages[0].ID
	const id = "77_1"
	deliver := func(verb, createdTime string) {
		t.Helper()
		body := `{"object":"page","entry":[{"id":"` + p + `","time":1767000040,"changes":[{"field":"feed","value":{"item":"comment","verb":"` + verb +
			`","comment_id":"` + id + `","post_id":"` + p + `_77","parent_id":"` + p + `_77","sender_id":` + p + `,"created_time":` + createdTime + `}}]}]}`
		if code, ans := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
			t.Fatalf("%s at %s answered %d %s, want 200", verb, createdTime, code, ans)
		}
	}
	state := func() tasks.Entry {
		t.Helper()
		en, err := e.led.Get(context.Background(), p, tasks.Target{Kind: tasks.KindComment, ID: id})
		if err != nil {
			t.Fatal(err)
		}
		return en
	}
	deliver("unhide", `"1767000020"`)
	deliver("hide", `1767000010000`)
	if en := state(); en.Status != tasks.StatusNone {
		t.Fatalf("hide older than the unhide delivered before it: %+v; want nothing marked", en)
	}
	deliver("hide", `"2025-12-29T09:20:30+0000"`)
	if en := state(); en.Reason != tasks.HiddenReason {
		t.Fatalf("newer hide: %+v; want hidden", en)
	}
	deliver("unhide", `1767000025`)
	if en := state(); en.Reason != tasks.HiddenReason {
		t.Fatalf("unhide older than the hide delivered before it: %+v; want still hidden", en)
	}
	if n := strings.Count(logs.String(), "recorded=false"); n != 3 {
		t.Errorf("%d changes said not recorded, want 3 (the first unhide had no mark, and the two older ones):\n%s", n, logs.String())
	}
}
