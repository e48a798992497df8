package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestSandboxBatchedWebhookServeEndToEnd_audit19: serve takes the sandbox's
// batched deliveries (an entry per Page, several changes each, as Meta
// batches them) on its real POST /webhook; the first, answered 503 in
// front of serve, is delivered again; every comment and visitor's post
// they name that can be answered gets exactly one private reply, and no
// item a second one. The Pages poll once an hour: the replies come from the
// webhook.
func TestSandboxBatchedWebhookServeEndToEnd_audit19(t *testing.T) {
	e := newE2EPages(t, sandbox.Options{Pages: 3, Posts: 2, Comments: 2, Conversations: 0, VisitorPosts: true, Seed: 19}, func(_ int, p sandbox.Page) string {
		return fmt.Sprintf("  - id: \"%s\"\n    access_token: \"%s\"\n    schedule: \"@every 1h\"\n    rate: 50/s\n    reply_to: [comments, posts]\n    default_text: \"Thanks, {{.FirstName}}!\"\n", p.ID, p.Token)
	})
	p := start(t, "serve", "-c", e.cfgPath)
	e.waitHealthy(t, p)

	var calls, refused atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			refused.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, "http://"+e.api+"/webhook", r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
	}))
	t.Cleanup(front.Close)

	// What grows, batched: 25 changes a delivery (the window never ends
	// here; the last batch goes when the input closes).
	grown := e.sb.Grow(60)
	hook := &sandbox.Webhook{URL: front.URL, AppSecret: e2eAppSecret, BatchWindow: time.Hour, MaxBatch: 25,
		Sleep: func(context.Context, time.Duration) error { return nil }}
	in := make(chan sandbox.Growth, len(grown))
	var items []sandbox.Growth
	for _, g := range grown {
		in <- g
		if _, ok := sandbox.WebhookBody(g); ok {
			items = append(items, g)
		}
	}
	close(in)
	batches := make(chan []sandbox.Growth)
	batched := make(chan struct{})
	go func() { defer close(batched); hook.Batch(context.Background(), in, batches) }()
	several := false
	for done := false; !done; {
		select {
		case b := <-batches:
			pages := map[string]int{}
			for _, g := range b {
				pages[g.PageID]++
			}
			several = several || len(pages) > 1 && len(b) > len(pages)
			if err := hook.DeliverBatch(context.Background(), b); err != nil {
				t.Fatalf("deliver: %v", err)
			}
		case <-batched: // the input closed, the last batch taken
			done = true
		}
	}
	if !several {
		t.Fatal("no delivery with several Pages and several changes")
	}
	st := hook.Stats()
	if st.Delivered != int64(len(items)) || st.Deliveries != int64((len(items)+24)/25) || st.Retried != 1 || st.Failed != 0 || refused.Load() != 1 {
		t.Fatalf("stats %+v for %d items, %d refused", st, len(items), refused.Load())
	}

	answerable := 0
	for _, g := range items {
		if g.CanReplyPrivately {
			answerable++
		}
	}
	if answerable == 0 {
		t.Fatal("nothing grown can be answered")
	}
	eventually(t, 60*time.Second, fmt.Sprintf("a reply to each of the %d items answerable", answerable), func() bool {
		for _, g := range items {
			target := g.CommentID
			if g.Kind == sandbox.KindPost {
				target = g.PostID
			}
			if g.CanReplyPrivately && e.sb.SendCount(target) != 1 {
				return false
			}
		}
		return true
	})
	if n := e.sb.Duplicates(); n != 0 {
		t.Fatalf("%d items got a second private reply", n)
	}
	for _, g := range items {
		target := g.CommentID
		if g.Kind == sandbox.KindPost {
			target = g.PostID
		}
		if n := e.sb.SendCount(target); n > 1 || !g.CanReplyPrivately && n != 0 {
			t.Fatalf("%s %s (can_reply_privately %v): %d replies", g.Kind, target, g.CanReplyPrivately, n)
		}
	}
}

// TestSandboxWebhookBatchNeedsWebhook_audit19: --webhook-batch batches what
// --webhook delivers: without it, and when negative, a usage error naming
// the flag.
func TestSandboxWebhookBatchNeedsWebhook_audit19(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--grow", "1/s", "--webhook-batch", "1s"}, "--webhook-batch batches what --webhook delivers: give --webhook too"},
		{[]string{"--grow", "1/s", "--webhook", "http://127.0.0.1:1/webhook", "--webhook-batch", "-1s"}, "--webhook-batch: -1s is out of range"},
	} {
		stdout, stderr, done := runSandboxWithSecret(context.Background(), "s", append([]string{"--addr", "127.0.0.1:0"}, tc.args...)...)
		if code := <-done; code != exitUsage || !strings.Contains(stderr.String(), tc.want) || stdout.String() != "" {
			t.Fatalf("%v: exit %d, stderr %q, want %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
