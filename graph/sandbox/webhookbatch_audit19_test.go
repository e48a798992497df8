package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// hookRecorder is a Page webhook that checks each delivery's signature,
// answers the first fail deliveries with 503 and records every body.
type hookRecorder struct {
	secret string
	fail   int

	mu     sync.Mutex
	bodies [][]byte
}

func (h *hookRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Header.Get("X-Hub-Signature-256") != sandbox.SignWebhook(h.secret, body) {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h.mu.Lock()
	h.bodies = append(h.bodies, body)
	n := len(h.bodies)
	h.mu.Unlock()
	if n <= h.fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *hookRecorder) got() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.bodies)
}

// batchDelivery is a delivery as Meta sends it.
type batchDelivery struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      string `json:"id"`
		Time    int64  `json:"time"`
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Item      string `json:"item"`
				Verb      string `json:"verb"`
				PostID    string `json:"post_id"`
				CommentID string `json:"comment_id"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// deliverable are the items of gs with a feed delivery, and the id of each
// (comment id, or post id for a visitor's post) by the Page it is on.
func deliverable(gs []sandbox.Growth) ([]sandbox.Growth, map[string][]string) {
	var out []sandbox.Growth
	ids := map[string][]string{}
	for _, g := range gs {
		if _, ok := sandbox.WebhookBody(g); !ok {
			continue
		}
		out = append(out, g)
		id := g.CommentID
		if g.Kind == sandbox.KindPost {
			id = g.PostID
		}
		ids[g.PageID] = append(ids[g.PageID], id)
	}
	return out, ids
}

// TestWebhookBatchedDelivery_audit19: the changes that arise close
// together go in one delivery as Meta batches them: an entry per Page (in
// the order of its first change), each with its changes in order, every
// item once; the delivery answered 503 is delivered again, the same signed
// body, after the backoff, and then answered 200; the stats count the
// changes, the one delivery and the retry.
func TestWebhookBatchedDelivery_audit19(t *testing.T) {
	const secret = "batch-app-secret-19"
	sb := sandbox.New(sandbox.Options{Pages: 3, Posts: 2, Comments: 2, Conversations: 1, VisitorPosts: true, Seed: 19})
	items, byPage := deliverable(sb.Grow(90))
	if len(byPage) < 2 {
		t.Fatalf("grown on %d Pages, want several", len(byPage))
	}
	rec := &hookRecorder{secret: secret, fail: 1}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	var waits []time.Duration
	hook := &sandbox.Webhook{URL: srv.URL, AppSecret: secret, BatchWindow: time.Hour, MaxBatch: len(items),
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}

	// Batch: what is queued goes in one batch once MaxBatch are gathered
	// (the hour's window never ends here), messages left out.
	in := make(chan sandbox.Growth, 200)
	for _, g := range items {
		in <- g
	}
	in <- sandbox.Growth{Kind: sandbox.KindConversation, PageID: items[0].PageID, MessageID: "m_1"}
	out := make(chan []sandbox.Growth)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go hook.Batch(ctx, in, out)
	var batch []sandbox.Growth
	select {
	case batch = <-out:
	case <-time.After(30 * time.Second):
		t.Fatal("no batch of MaxBatch items")
	}
	if len(batch) != len(items) {
		t.Fatalf("batch of %d items, want %d", len(batch), len(items))
	}

	if err := hook.DeliverBatch(context.Background(), batch); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	bodies := rec.got()
	if len(bodies) != 2 || !bytes.Equal(bodies[0], bodies[1]) {
		t.Fatalf("%d deliveries, want the batch twice, the same body (the first answered 503)", len(bodies))
	}
	if len(waits) != 1 || waits[0] != sandbox.DefaultWebhookBackoff {
		t.Fatalf("waits %v, want one of %v", waits, sandbox.DefaultWebhookBackoff)
	}
	var d batchDelivery
	if err := json.Unmarshal(bodies[1], &d); err != nil || d.Object != "page" {
		t.Fatalf("delivery %s: %v", bodies[1], err)
	}
	if len(d.Entry) != len(byPage) {
		t.Fatalf("%d entries, want one per Page: %d", len(d.Entry), len(byPage))
	}
	several := false
	seen := map[string]int{}
	for i, e := range d.Entry {
		var ids []string
		for _, c := range e.Changes {
			id := c.Value.CommentID
			if c.Value.Item == "status" {
				id = c.Value.PostID
			}
			if c.Field != "feed" || c.Value.Verb != "add" || id == "" {
				t.Fatalf("entry %d change %+v", i, c)
			}
			ids = append(ids, id)
			seen[id]++
		}
		if !slices.Equal(ids, byPage[e.ID]) {
			t.Fatalf("entry of Page %s holds %v, want %v", e.ID, ids, byPage[e.ID])
		}
		several = several || len(e.Changes) > 1
		if i > 0 && e.ID == d.Entry[i-1].ID {
			t.Fatalf("Page %s has two entries", e.ID)
		}
	}
	if !several {
		t.Fatal("no entry with several changes")
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s in the delivery %d times", id, n)
		}
	}
	if len(seen) != len(items) {
		t.Fatalf("%d changes delivered, want %d", len(seen), len(items))
	}
	if st := hook.Stats(); st.Delivered != int64(len(items)) || st.Deliveries != 1 || st.Retried != 1 || st.Failed != 0 {
		t.Fatalf("stats %+v, want %d changes in 1 delivery, 1 retry", st, len(items))
	}
}

// TestWebhookBatchSplitsAndFlushes_audit19: DeliverBatch makes a delivery
// of at most MaxBatch changes; Batch sends what it gathered when its input
// closes, and without a BatchWindow each change is a delivery of its own;
// a delivery refused on every try is counted failed by its changes.
func TestWebhookBatchSplitsAndFlushes_audit19(t *testing.T) {
	const secret = "batch-app-secret-19b"
	sb := sandbox.New(sandbox.Options{Pages: 2, Posts: 2, Comments: 2, Seed: 7})
	items, _ := deliverable(sb.Grow(12))
	rec := &hookRecorder{secret: secret}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)

	hook := &sandbox.Webhook{URL: srv.URL, AppSecret: secret, MaxBatch: 5}
	if err := hook.DeliverBatch(context.Background(), items); err != nil {
		t.Fatal(err)
	}
	changes := func(body []byte) int {
		var d batchDelivery
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range d.Entry {
			n += len(e.Changes)
		}
		return n
	}
	var sizes []int
	for _, b := range rec.got() {
		sizes = append(sizes, changes(b))
	}
	if want := []int{5, 5, len(items) - 10}; !slices.Equal(sizes, want) {
		t.Fatalf("deliveries of %v changes, want %v", sizes, want)
	}

	for _, tc := range []struct {
		name   string
		window time.Duration
		want   int // batches
	}{{"window", time.Hour, 1}, {"no window", 0, len(items)}} {
		t.Run(tc.name, func(t *testing.T) {
			h := &sandbox.Webhook{URL: srv.URL, AppSecret: secret, BatchWindow: tc.window}
			in := make(chan sandbox.Growth, len(items))
			for _, g := range items {
				in <- g
			}
			close(in)
			out := make(chan []sandbox.Growth)
			done := make(chan struct{})
			go func() { defer close(done); h.Batch(context.Background(), in, out) }()
			var n, total int
			for {
				select {
				case b := <-out:
					n++
					total += len(b)
					continue
				case <-done:
				}
				break
			}
			if n != tc.want || total != len(items) {
				t.Fatalf("%d batches of %d items, want %d of %d", n, total, tc.want, len(items))
			}
		})
	}

	refused := &sandbox.Webhook{URL: srv.URL, AppSecret: "not-the-secret", Attempts: 2,
		Sleep: func(context.Context, time.Duration) error { return nil }}
	if err := refused.DeliverBatch(context.Background(), items[:3]); err == nil {
		t.Fatal("a delivery refused 401 was not an error")
	}
	if st := refused.Stats(); st.Failed != 3 || st.Delivered != 0 || st.Deliveries != 0 || st.Retried != 1 {
		t.Fatalf("refused stats %+v", st)
	}
}

// TestWebhookRedeliveryWaitsCapped_audit19: a delivery answered 503 every
// time is delivered again Attempts times in all, the same body, the waits
// doubling from Backoff up to MaxBackoff; its changes are counted failed.
func TestWebhookRedeliveryWaitsCapped_audit19(t *testing.T) {
	const secret = "batch-app-secret-19c"
	sb := sandbox.New(sandbox.Options{Pages: 2, Posts: 2, Comments: 2, Seed: 5})
	items, _ := deliverable(sb.Grow(8))
	rec := &hookRecorder{secret: secret, fail: 1 << 30}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	var waits []time.Duration
	hook := &sandbox.Webhook{URL: srv.URL, AppSecret: secret, Attempts: 6, Backoff: time.Second, MaxBackoff: 3 * time.Second,
		Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
	err := hook.DeliverBatch(context.Background(), items)
	if err == nil || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), secret) {
		t.Fatalf("delivery answered 503 every time: %v", err)
	}
	bodies := rec.got()
	if len(bodies) != 6 {
		t.Fatalf("%d tries, want 6", len(bodies))
	}
	for _, b := range bodies[1:] {
		if !bytes.Equal(b, bodies[0]) {
			t.Fatal("a redelivery's body differs from the first")
		}
	}
	s := time.Second
	if want := []time.Duration{s, 2 * s, 3 * s, 3 * s, 3 * s}; !slices.Equal(waits, want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	if st := hook.Stats(); st.Failed != int64(len(items)) || st.Retried != 5 || st.Delivered != 0 {
		t.Fatalf("stats %+v", st)
	}
}
