package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestSandboxCommandWebhookBatches_audit19: pagereply sandbox --grow
// --webhook batches its deliveries as Meta does: what a tick adds across
// two Pages goes in one signed delivery, an entry per Page (never two for
// one Page), several changes in an entry; every change grown is delivered.
func TestSandboxCommandWebhookBatches_audit19(t *testing.T) {
	const secret = "sandbox-batch-secret-19"
	var mu sync.Mutex
	var deliveries, maxEntries, maxChanges, changes, twice int
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Hub-Signature-256") != sandbox.SignWebhook(secret, body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var d struct {
			Entry []struct {
				ID      string            `json:"id"`
				Changes []json.RawMessage `json:"changes"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(body, &d); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		deliveries++
		maxEntries = max(maxEntries, len(d.Entry))
		pages := map[string]bool{}
		for _, e := range d.Entry {
			if pages[e.ID] {
				twice++
			}
			pages[e.ID] = true
			maxChanges = max(maxChanges, len(e.Changes))
			changes += len(e.Changes)
		}
	}))
	t.Cleanup(hook.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, stderr, done := runSandboxWithSecret(ctx, secret, "--addr", "127.0.0.1:0", "--pages", "2", "--posts", "2", "--comments", "2",
		"--conversations", "0", "--seed", "19", "--grow", "400/s", "--grow-for", "1s", "--webhook", hook.URL+"/webhook")
	addr := waitFor(t, stderr, regexp.MustCompile(`sandbox listening on (http://127\.0\.0\.1:[0-9]+)\n`))[1]
	var st sandboxStatsBody
	eventually(t, 60*time.Second, "growth stopped and delivered", func() bool {
		_, a := getStats(t, addr)
		time.Sleep(5 * sandboxGrowTick)
		_, b := getStats(t, addr)
		st = b
		grown := int64(b.Grown.Comments + b.Grown.Posts)
		return a.Grown == b.Grown && grown > 0 && b.Webhook != nil && b.Webhook.Delivered == grown
	})
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if changes != st.Grown.Comments+st.Grown.Posts || st.Webhook.Failed != 0 || st.Webhook.Dropped != 0 {
		t.Fatalf("%d changes delivered; grown %+v, webhook %+v", changes, st.Grown, st.Webhook)
	}
	if deliveries >= changes || maxEntries < 2 || maxChanges < 2 || twice != 0 {
		t.Fatalf("%d deliveries of %d changes, at most %d entries and %d changes an entry, %d Pages with two entries: want batches",
			deliveries, changes, maxEntries, maxChanges, twice)
	}
}
