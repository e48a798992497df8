package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// recordingIntake keeps what the webhook queued; the fuzz target and the
// webhook's tests are about the decoder and its checks, not about Redis.
type recordingIntake struct {
	mu    sync.Mutex
	items []tasks.WebhookItem
}

func (r *recordingIntake) EnqueueWebhookItem(_ context.Context, it tasks.WebhookItem) (tasks.Outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = append(r.items, it)
	return tasks.Enqueued, nil
}

// FuzzWebhook sends arbitrary signed bodies through POST /webhook: never a
// panic or a 5xx; a 400 for a body that is not JSON; every queued item
// passes Validate and belongs to a configured Page; an unsigned copy of the
// same body is refused with 401 and queues nothing, nor marks anything.
// Page 200 skips hidden comments: an unhide's read (an item with Shown) is
// queued once for each comment whose last change in the delivery is its
// unhide (or a hide older than it), and for no other.
func FuzzWebhook(f *testing.F) {
	const page, hiding = "100", "200"
	in := &recordingIntake{}
	marks := &recordingMarks{}
	h := api.NewWebhook(api.WebhookParams{
		VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: in, Hidden: marks,
		Pages: []config.Page{{ID: page, AccessToken: "secret-page-token", ReplyTo: []string{config.ReplyComments, config.ReplyPosts}, MaxAge: 168 * time.Hour},
			{ID: hiding, AccessToken: "secret-page-token", ReplyTo: []string{config.ReplyComments, config.ReplyPosts}, MaxAge: 168 * time.Hour, SkipHidden: true}},
		MaxBody: 16 << 10,
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	for _, seed := range []string{
		`{"object":"page","entry":[{"id":"100","time":1700000000,"changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"100_1_2","post_id":"100_1","parent_id":"100_1","from":{"id":"7","name":"Ann"},"message":"hi","created_time":1700000000}}]}]}`,
		`{"object":"page","entry":[{"id":"100","changes":[{"field":"feed","value":{"item":"post","verb":"add","post_id":"100_9","from":{"id":"8"}}}]}]}`,
		`{"object":"page","entry":[{"id":"100","changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"100_1_3","from":{"id":"100"}}}]}]}`,
		`{"object":"page","entry":[{"id":"999","changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"1_2"}}]}]}`,
		`{"object":"page","entry":[{"id":"100","changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":7,"created_time":"x"}}]}]}`,
		// Unhides, hides and removes of Page 200's comments in one delivery:
		// an unhide then a later hide, a hide older than the unhide (Meta's
		// redelivery), an unhide then a remove, an unhide without a time.
		`{"object":"page","entry":[{"id":"200","changes":[` +
			`{"field":"feed","value":{"item":"comment","verb":"unhide","comment_id":"200_1_2","post_id":"200_1","created_time":1700000100}},` +
			`{"field":"feed","value":{"item":"comment","verb":"hide","comment_id":"200_1_2","post_id":"200_1","created_time":1700000200}},` +
			`{"field":"feed","value":{"item":"comment","verb":"unhide","comment_id":"200_1_3","created_time":1700000300}},` +
			`{"field":"feed","value":{"item":"comment","verb":"hide","comment_id":"200_1_3","created_time":1700000000}},` +
			`{"field":"feed","value":{"item":"comment","verb":"unhide","comment_id":"200_1_4","post_id":"bad id"}},` +
			`{"field":"feed","value":{"item":"comment","verb":"remove","comment_id":"200_1_4"}},` +
			`{"field":"feed","value":{"item":"comment","verb":"unhide","comment_id":"200_1_5","created_time":"2023-11-14T22:13:20+0000"}},` +
			`{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"200_1_5","post_id":"200_1","from":{"id":"7"}}},` +
			`{"field":"feed","value":{"item":"post","verb":"remove","post_id":"200_9"}}]}]}`,
		`{"object":"page","entry":[{"id":"200","changes":[{"field":"feed","value":{"item":"comment","verb":"remove","comment_id":"200_1_6"}},` +
			`{"field":"feed","value":{"item":"comment","verb":"unhide","comment_id":"200_1_6","created_time":-5}},` +
			`{"field":"feed","value":{"item":"comment","verb":"hide","comment_id":"200_1_6"}}]},` +
			`{"id":"100","changes":[{"field":"feed","value":{"item":"comment","verb":"unhide","comment_id":"100_1_2"}}]}]}`,
		`{"object":"user","entry":[]}`, `{"entry":null}`, `{"entry":[null,{},[]]}`, `[]`, `{`, ``, `null`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		in.mu.Lock()
		in.items = in.items[:0]
		in.mu.Unlock()
		marks.mu.Lock()
		marks.calls = marks.calls[:0]
		marks.mu.Unlock()

		// Unsigned: refused, nothing queued.
		req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("unsigned body answered %d, want 401", rec.Code)
		}
		marks.mu.Lock()
		if len(marks.calls) > 0 {
			t.Fatalf("unsigned body wrote %d marks", len(marks.calls))
		}
		marks.mu.Unlock()
		in.mu.Lock()
		if len(in.items) > 0 {
			t.Fatalf("unsigned body queued %d items", len(in.items))
		}
		in.mu.Unlock()

		mac := hmac.New(sha256.New, []byte(whAppSecret))
		mac.Write([]byte(body))
		req = httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("signed body answered %d: %s", rec.Code, rec.Body)
		case len(body) > 16<<10:
			if rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("oversized body answered %d, want 413", rec.Code)
			}
		case !json.Valid([]byte(body)) && rec.Code != http.StatusBadRequest:
			t.Fatalf("invalid JSON answered %d, want 400", rec.Code)
		}
		if strings.Contains(rec.Body.String(), whAppSecret) || strings.Contains(rec.Body.String(), "secret-page-token") {
			t.Fatalf("answer leaks a secret: %s", rec.Body)
		}
		in.mu.Lock()
		defer in.mu.Unlock()
		if rec.Code != http.StatusOK && len(in.items) > 0 {
			t.Fatalf("answered %d but queued %d items", rec.Code, len(in.items))
		}
		marks.mu.Lock()
		defer marks.mu.Unlock()
		if rec.Code != http.StatusOK && len(marks.calls) > 0 {
			t.Fatalf("answered %d but wrote %d marks", rec.Code, len(marks.calls))
		}
		last, shown := lastMarks(marks.calls)
		reads := map[fuzzMark]int{}
		for _, it := range in.items {
			if err := it.Validate(); err != nil {
				t.Fatalf("queued an invalid item %+v: %v", it, err)
			}
			if it.PageID != page && it.PageID != hiding {
				t.Fatalf("queued an item of unconfigured Page %q", it.PageID)
			}
			if it.Shown == 0 {
				continue
			}
			k := fuzzMark{page: it.PageID, t: tasks.Target{Kind: it.Kind, ID: it.ID}}
			reads[k]++
			if it.PageID != hiding || !shown[k] {
				t.Fatalf("queued an unhide's read %+v, but the comment's last mark is %q (marks %+v)", it, last[k], marks.calls)
			}
		}
		for k, s := range shown {
			if s && reads[k] != 1 && rec.Code == http.StatusOK {
				t.Fatalf("comment %v shown again (marks %+v): %d reads queued, want 1", k, marks.calls, reads[k])
			}
		}
	})
}
