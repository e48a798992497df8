package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestSandboxWebhookDeliveriesVerifyAudit8: the deliveries the sandbox makes
// of what it grows (pagereply sandbox --grow --webhook) pass pagereply's own
// webhook (its signature check, its reading of Meta's feed shape): every new
// comment (replies too, with their post as PostID) and visitor's post is
// queued as its item, messages are not delivered, and a delivery signed
// with another secret is refused 401 and counted failed after its tries.
func TestSandboxWebhookDeliveriesVerifyAudit8(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 2, Posts: 3, Comments: 4, Conversations: 2, VisitorPosts: true, Seed: 4})
	var pages []config.Page
	for _, p := range sb.Pages() {
		pages = append(pages, config.Page{ID: p.ID, AccessToken: p.Token, ReplyTo: []string{config.ReplyComments, config.ReplyPosts}})
	}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	hook := &sandbox.Webhook{URL: srv.URL + "/webhook", AppSecret: whAppSecret}
	added := sb.Grow(120)
	var want []string
	replies, messages := 0, 0
	for _, g := range added {
		if err := hook.Deliver(context.Background(), g); err != nil {
			t.Fatalf("deliver %+v: %v", g, err)
		}
		switch g.Kind {
		case sandbox.KindComment:
			want = append(want, "webhook:comment:"+g.CommentID+" post "+g.PostID+" page "+g.PageID)
			if g.ParentID != "" {
				replies++
			}
		case sandbox.KindPost:
			want = append(want, "webhook:post:"+g.PostID+" post  page "+g.PageID)
		default:
			messages++
		}
	}
	if replies == 0 || messages == 0 {
		t.Fatalf("%d replies, %d messages among what grew: want some of each", replies, messages)
	}
	got := in.queuedItems()
	if len(got) != len(want) {
		t.Fatalf("webhook queued %d items, want %d", len(got), len(want))
	}
	for i, it := range got {
		if s := it.TaskID() + " post " + it.PostID + " page " + it.PageID; s != want[i] {
			t.Fatalf("item %d: %s, want %s", i, s, want[i])
		}
	}
	if st := hook.Stats(); st.Delivered != int64(len(want)) || st.Failed != 0 || st.Retried != 0 {
		t.Fatalf("hook stats %+v, want %d delivered", st, len(want))
	}

	// Signed with another secret: 401 each try, given up, counted.
	var waits []time.Duration
	wrong := &sandbox.Webhook{URL: srv.URL + "/webhook", AppSecret: "not-the-app-secret", Attempts: 3,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	err := wrong.Deliver(context.Background(), added[0])
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "not-the-app-secret") {
		t.Fatalf("delivery with a wrong secret: %v", err)
	}
	if st := wrong.Stats(); st.Failed != 1 || st.Retried != 2 || st.Delivered != 0 || len(waits) != 2 || waits[0] != time.Second || waits[1] != 2*time.Second {
		t.Fatalf("wrong secret: stats %+v, waits %v", st, waits)
	}
	if n := len(in.queuedItems()); n != len(want) {
		t.Fatalf("a delivery with a wrong signature queued something: %d items", n)
	}
}

// TestSandboxWebhookRetriesAudit8: a delivery answered 503 (pagereply's
// answer while Redis is out of reach) or not answered is tried again after
// 1 s, then 2 s, as Meta tries again, and lands once the webhook answers.
func TestSandboxWebhookRetriesAudit8(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Seed: 2})
	pages := []config.Page{{ID: sb.Pages()[0].ID, AccessToken: "tok"}}
	real, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	var calls atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		case 2:
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close() // no answer at all
		default:
			req, _ := http.NewRequestWithContext(r.Context(), r.Method, real.URL+"/webhook", r.Body)
			req.Header = r.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				w.WriteHeader(http.StatusBadGateway)
				return
			}
			resp.Body.Close()
			w.WriteHeader(resp.StatusCode)
		}
	}))
	t.Cleanup(flaky.Close)
	var waits []time.Duration
	hook := &sandbox.Webhook{URL: flaky.URL, AppSecret: whAppSecret,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	var g sandbox.Growth
	for _, g = range sb.Grow(5) {
		if g.Kind == sandbox.KindComment {
			break
		}
	}
	if err := hook.Deliver(context.Background(), g); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if st := hook.Stats(); calls.Load() != 3 || st.Delivered != 1 || st.Retried != 2 || st.Failed != 0 ||
		len(waits) != 2 || waits[0] != time.Second || waits[1] != 2*time.Second {
		t.Fatalf("%d calls, stats %+v, waits %v: want 3 calls, 2 retries after 1s and 2s", calls.Load(), st, waits)
	}
	if got := in.queuedItems(); len(got) != 1 || got[0].ID != g.CommentID {
		t.Fatalf("queued %+v, want %s once", got, g.CommentID)
	}
}
