package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// TestWebhookCommentBadPostIDQueued_audit21: a new comment whose comment_id
// is a Graph id but whose post_id is not (no Graph id holds "/" or a
// space; a number of another form than digits reads as none) was ignored
// whole as malformed, said at debug only, and the comment got no reply from
// the webhook. The worker reads a comment by its id alone and tells its post
// from it (as for a change without post_id): the item is queued without
// post_id, as an unhide's read already was.
func TestWebhookCommentBadPostIDQueued_audit21(t *testing.T) {
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	change := func(comment, post string) string {
		return fmt.Sprintf(`{"field":"feed","value":{"item":"comment","verb":"add","comment_id":%q,"post_id":%s,"from":{"id":"555"},"created_time":1}}`, comment, post)
	}
	body := `{"object":"page","entry":[{"id":"100","time":1,"changes":[` + change("1_3", `"100/1"`) + `,` + change("1_4", `1.5`) + `,` + change("1_5", `"100_1"`) + `]}]}`
	if st := postSigned(t, srv.URL, sign(whAppSecret, body), body); st != http.StatusOK {
		t.Fatalf("delivery: %d", st)
	}
	got := in.queuedItems()
	want := map[string]string{"1_3": "", "1_4": "", "1_5": "100_1"}
	if len(got) != len(want) {
		t.Fatalf("queued %+v, want the 3 comments", got)
	}
	for _, it := range got {
		if p, ok := want[it.ID]; !ok || it.Kind != tasks.KindComment || it.PostID != p {
			t.Errorf("queued %+v, want comment %s with post_id %q", it, it.ID, p)
		}
	}
}
