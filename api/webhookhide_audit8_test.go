package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// TestMalformedHideSaysWhyAudit8: on a Page with skip_hidden, a hide or
// unhide whose comment_id is missing or of the wrong shape is
// ignored saying so ("malformed hide: comment_id ..."), not as "verb hide",
// which is what a Page without skip_hidden says of every hide and tells an
// operator hides are not read at all; and it loses nothing of its delivery:
// the valid hides before and after it are marked, the new comment in the
// same batch is queued, and the answer is 200. (A comment_id given as a JSON
// number is the bare comment id Graph reads, marked as its string would be,
// since audit21.)
func TestMalformedHideSaysWhyAudit8(t *testing.T) {
	e := newWebhookEnv(t)
	pages, logs := e.serveMarking(t, func(p []config.Page) { p[0].SkipHidden = true })
	p, other := pages[0].ID, pages[1].ID
	post := p + "_77"
	changes := []string{
		commentChange(p, post, "77_1", "6400001", "hide"),
		`{"field":"feed","value":{"item":"comment","verb":"hide","post_id":"` + post + `"}}`,
		`{"field":"feed","value":{"item":"comment","verb":"hide","comment_id":7712,"post_id":"` + post + `"}}`,
		commentChange(p, post, "77 2!", "6400001", "unhide"),
		commentChange(p, post, "77_3", "6400002", "add"),
		commentChange(p, post, "77_5", "6400004", "hide"),
	}
	body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[%s]},{"id":%q,"time":1,"changes":[%s]}]}`,
		p, strings.Join(changes, ","), other, commentChange(other, other+"_5", "5_1", "6400003", "hide"))
	code, ans := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)})
	if code != http.StatusOK {
		t.Fatalf("delivery answered %d %s, want 200", code, ans)
	}
	ctx := context.Background()
	for _, id := range []string{"77_1", "77_5"} {
		if en, err := e.led.Get(ctx, p, tasks.Target{Kind: tasks.KindComment, ID: id}); err != nil || en.Reason != tasks.HiddenReason {
			t.Errorf("valid hide of %s in a batch with malformed ones: entry %+v, %v; want marked hidden", id, en, err)
		}
	}
	insp := asynq.NewInspector(e.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if _, err := insp.GetTaskInfo(tasks.QueuePolls, "webhook:comment:77_3"); err != nil {
		t.Errorf("new comment in the same batch not queued: %v", err)
	}
	out := logs.String()
	for _, want := range []string{`why="malformed hide: comment_id: missing or malformed"`, `why="malformed unhide: comment_id: missing or malformed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if n := strings.Count(out, `why="malformed hide`); n != 1 {
		t.Errorf("%d malformed hides said, want 1 (no comment_id):\n%s", n, out)
	}
	if n := strings.Count(out, `why="verb hide"`); n != 1 || !strings.Contains(out, "page_id="+other+` why="verb hide"`) {
		t.Errorf("want one \"verb hide\", the Page without skip_hidden's, got %d:\n%s", n, out)
	}
	if !strings.Contains(out, "queued=4 already_queued=0 ignored=3") {
		t.Errorf("delivery's counts:\n%s", out)
	}
}
