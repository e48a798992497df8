package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestSandboxWebhookBatchedDelivery_audit19: the sandbox's batched delivery
// (an entry per Page, several changes each, as Meta batches them) passes
// pagereply's webhook: answered 200, every comment and visitor's post in it
// queued once; the same delivery answered 503 first (Redis away) is
// delivered again and queued then, once.
func TestSandboxWebhookBatchedDelivery_audit19(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 3, Posts: 2, Comments: 2, Conversations: 1, VisitorPosts: true, Seed: 19})
	var pages []config.Page
	for _, p := range sb.Pages() {
		pages = append(pages, config.Page{ID: p.ID, AccessToken: p.Token, ReplyTo: []string{config.ReplyComments, config.ReplyPosts}})
	}
	real, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	var calls atomic.Int32
	var answered200, answeredOther atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, real.URL+"/webhook", r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			answered200.Add(1)
		} else {
			answeredOther.Add(1)
		}
		w.WriteHeader(resp.StatusCode)
	}))
	t.Cleanup(front.Close)

	var want []string
	entries := map[string]int{}
	var items []sandbox.Growth
	for _, g := range sb.Grow(90) {
		switch g.Kind {
		case sandbox.KindComment:
			want = append(want, "webhook:comment:"+g.CommentID)
		case sandbox.KindPost:
			want = append(want, "webhook:post:"+g.PostID)
		default:
			continue
		}
		items = append(items, g)
		entries[g.PageID]++
	}
	several := 0
	for _, n := range entries {
		if n > 1 {
			several++
		}
	}
	if len(entries) < 2 || several < 2 {
		t.Fatalf("changes by Page %v: want several Pages with several changes", entries)
	}
	hook := &sandbox.Webhook{URL: front.URL, AppSecret: whAppSecret, BatchWindow: time.Hour,
		Sleep: func(context.Context, time.Duration) error { return nil }}
	if err := hook.DeliverBatch(context.Background(), items); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if st := hook.Stats(); calls.Load() != 2 || answered200.Load() != 1 || answeredOther.Load() != 0 ||
		st.Deliveries != 1 || st.Delivered != int64(len(items)) || st.Retried != 1 || st.Failed != 0 {
		t.Fatalf("%d calls, webhook answered 200 %d times, else %d, stats %+v: want the delivery answered 503, then 200",
			calls.Load(), answered200.Load(), answeredOther.Load(), st)
	}
	var got []string
	for _, it := range in.queuedItems() {
		got = append(got, it.TaskID())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("queued %d items %v, want each of %d once: %v", len(got), got, len(want), want)
	}
}
