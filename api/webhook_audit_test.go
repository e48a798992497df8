package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// queuedItems returns a copy of what the webhook queued.
func (r *recordingIntake) queuedItems() []tasks.WebhookItem {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tasks.WebhookItem(nil), r.items...)
}

// TestWebhookHandshakeHeaders: the challenge (a query parameter, so anyone's
// text) is answered with nosniff beside text/plain, so no browser reads it
// as a page; HEAD, as GET, answers 200 with the right token.
func TestWebhookHandshakeHeaders(t *testing.T) {
	srv, _ := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret})
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {whVerifyToken}, "hub.challenge": {"<script>x</script>"}}.Encode()
	resp, err := http.Get(srv.URL + "/webhook?" + q)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "<script>x</script>" {
		t.Fatalf("handshake: %d %q", resp.StatusCode, b)
	}
	if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", got)
	}
	resp, err = http.Head(srv.URL + "/webhook?" + q)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD handshake: %d, want 200", resp.StatusCode)
	}
}

// TestWebhookBodyAtLimit: a body of exactly MaxBody bytes is read (and
// answered by its signature), one byte more is a 413.
func TestWebhookBodyAtLimit(t *testing.T) {
	const limit = 4 << 10
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages, MaxBody: limit})
	d := commentDelivery("100")
	body := d + strings.Repeat(" ", limit-len(d))
	if st := postSigned(t, srv.URL, sign(whAppSecret, body), body); st != http.StatusOK {
		t.Fatalf("signed body of exactly the limit (%d bytes): %d, want 200", len(body), st)
	}
	if n := in.count(); n != 1 {
		t.Fatalf("%d items queued, want 1", n)
	}
	if st := postSigned(t, srv.URL, sign(whAppSecret, body+" "), body+" "); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("body one byte past the limit: %d, want 413", st)
	}
}

// TestWebhookSignatureForms: only "sha256=" and the whole hex HMAC pass;
// the bare hex, a truncated HMAC and an empty one are 401.
func TestWebhookSignatureForms(t *testing.T) {
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	body := commentDelivery("100")
	good := sign(whAppSecret, body)
	hexMAC := strings.TrimPrefix(good, "sha256=")
	for name, sig := range map[string]string{
		"bare hex":     hexMAC,
		"sha1= prefix": "sha1=" + hexMAC,
		"truncated":    "sha256=" + hexMAC[:16],
		"one byte":     "sha256=" + hexMAC[:2],
		"empty hex":    "sha256=",
		"upper prefix": "SHA256=" + hexMAC,
	} {
		if st := postSigned(t, srv.URL, sig, body); st != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, st)
		}
	}
	if n := in.count(); n != 0 {
		t.Fatalf("%d items queued from badly signed deliveries", n)
	}
	if st := postSigned(t, srv.URL, good, body); st != http.StatusOK || in.count() != 1 {
		t.Fatalf("good signature: %d, %d items", st, in.count())
	}
}

// TestWebhookShapeErrorField: a 400 for a body of another shape names the
// field path in error.field, as the API's other 400s do.
func TestWebhookShapeErrorField(t *testing.T) {
	srv, _ := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret})
	for body, field := range map[string]string{
		`{"object":"page","entry":{}}`:                "entry",
		`{"object":"page","entry":[{"changes":"x"}]}`: "entry.changes",
		`{"object":7}`: "object",
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", sign(whAppSecret, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		if resp.StatusCode != http.StatusBadRequest || errField(m) != field {
			t.Errorf("%s: %d %s, want 400 naming %s", body, resp.StatusCode, b, field)
		}
	}
}

// TestWebhookItemFields: what the webhook queues for a reply comment (its
// parent a comment, not the post) and a visitor's post: the post_id of the
// change, not its parent_id, and ReceivedAt from the webhook's clock.
func TestWebhookItemFields(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments, config.ReplyPosts}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages,
		Now: func() time.Time { return now }})
	body := `{"object":"page","entry":[{"id":"100","time":1,"changes":[` +
		`{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"100_1_3","post_id":"100_1","parent_id":"100_1_2","from":{"id":"555"},"created_time":1}},` +
		`{"field":"feed","value":{"item":"status","verb":"add","post_id":"100_9","from":{"id":"556"},"created_time":1}}]}]}`
	if st := postSigned(t, srv.URL, sign(whAppSecret, body), body); st != http.StatusOK {
		t.Fatalf("delivery: %d", st)
	}
	want := []tasks.WebhookItem{
		{PageID: "100", Kind: tasks.KindComment, ID: "100_1_3", PostID: "100_1", ReceivedAt: now.UnixMilli()},
		{PageID: "100", Kind: tasks.KindPost, ID: "100_9", ReceivedAt: now.UnixMilli()},
	}
	if got := in.queuedItems(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("queued %+v, want %+v", got, want)
	}
}

// TestWebhookOwnItemNumericFrom: the Page's own comment is ignored also when
// from.id comes as a JSON number.
func TestWebhookOwnItemNumericFrom(t *testing.T) {
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	body := `{"object":"page","entry":[{"id":"100","time":1,"changes":[` +
		`{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"100_1_2","post_id":"100_1","from":{"id":100},"created_time":1}}]}]}`
	if st := postSigned(t, srv.URL, sign(whAppSecret, body), body); st != http.StatusOK {
		t.Fatalf("delivery: %d", st)
	}
	if n := in.count(); n != 0 {
		t.Fatalf("the Page's own comment (from.id a number): %d items queued, want 0", n)
	}
}

// TestWebhookPostsOnlyWhenPageRepliesToThem: a Page that replies to comments
// only gets no task for a visitor's post.
func TestWebhookPostsOnlyWhenPageRepliesToThem(t *testing.T) {
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	body := `{"object":"page","entry":[{"id":"100","time":1,"changes":[` +
		`{"field":"feed","value":{"item":"post","verb":"add","post_id":"100_9","from":{"id":"556"},"created_time":1}}]}]}`
	if st := postSigned(t, srv.URL, sign(whAppSecret, body), body); st != http.StatusOK {
		t.Fatalf("delivery: %d", st)
	}
	if n := in.count(); n != 0 {
		t.Fatalf("visitor post for a Page that replies to comments only: %d items queued, want 0", n)
	}
}

// TestWebhookMalformedIDKeepsOthers: a change whose comment_id is no Graph id
// is ignored (a 200), not passed on to the queue, which refuses it and would
// turn the delivery into a 503 that Meta redelivers for hours, refused each
// time with the good changes beside it.
func TestWebhookMalformedIDKeepsOthers(t *testing.T) {
	e := newWebhookEnv(t)
	page := e.pages[0].ID
	body := `{"object":"page","entry":[{"id":"` + page + `","changes":[` +
		commentChange(page, page+"_1", "1/../2", "5", "add") + `,` +
		commentChange(page, page+"_1", "1_2", "5", "add") + `]}]}`
	if code, b := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", code, b)
	}
	if n := e.queued(t); n != 1 {
		t.Fatalf("%d tasks queued, want 1 (the well-formed comment)", n)
	}
}
