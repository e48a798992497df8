package chaos

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// soakWebhook delivers the soak's grown items to the api's webhook as Meta
// does: the changes that arise close together batched into one delivery
// (sandbox.Webhook.Batch over its BatchWindow, up to MaxBatch changes, an
// entry per Page), a few deliveries at once, and a delivery not answered
// 2xx (the api down, Redis down behind it) delivered again, the whole batch,
// the same body, as the Webhook's schedule says. Each batch is delivered by
// a Webhook of its own (newHook's), so its tries are counted as its own.
type soakWebhook struct {
	newHook func() *sandbox.Webhook
	ctx     context.Context
	cancel  context.CancelFunc
	in      chan sandbox.Growth
	wg      sync.WaitGroup

	mu sync.Mutex
	st soakWebhookStats
}

// soakWebhookStats counts a soakWebhook's changes and batches.
type soakWebhookStats struct {
	Window   time.Duration
	MaxBatch int
	// Queued are the changes given to the webhook (those with a feed
	// delivery); Delivered those in batches answered 2xx.
	Queued, Delivered int
	// Batches answered 2xx, their largest (changes, Pages), and how many
	// held more than one Page.
	Batches, MaxChanges, MaxPages, MultiPage int
	// Retried are the batches answered 2xx after a try failed; Retries the
	// tries after a failed one, of every batch.
	Retried int
	Retries int64
	// Failed batches (changes) were given up after their every try failed;
	// CutShort ones were still being tried when the webhook was closed.
	Failed, FailedChanges, CutShort, CutShortChanges int
	Errs                                             []string // the first few failures
}

// Undelivered are the changes queued and not in a batch answered 2xx.
func (s soakWebhookStats) Undelivered() int { return s.Queued - s.Delivered }

func (s soakWebhookStats) String() string {
	avg := 0.0
	if s.Batches > 0 {
		avg = float64(s.Delivered) / float64(s.Batches)
	}
	return fmt.Sprintf("webhook batches (window %s, up to %d changes): %d delivered holding %d changes, changes per batch max %d avg %.2f, %d with several Pages (max %d); %d retried (%d tries after a failed one); %d given up (%d changes), %d cut short (%d changes); changes queued %d, undelivered %d",
		s.Window, s.MaxBatch, s.Batches, s.Delivered, s.MaxChanges, avg, s.MultiPage, s.MaxPages, s.Retried, s.Retries,
		s.Failed, s.FailedChanges, s.CutShort, s.CutShortChanges, s.Queued, s.Undelivered())
}

// startSoakWebhook starts the batching and workers deliverers. newHook is
// called once for the batching (its BatchWindow and MaxBatch) and once per
// batch.
func startSoakWebhook(newHook func() *sandbox.Webhook, workers int) *soakWebhook {
	w := &soakWebhook{newHook: newHook, in: make(chan sandbox.Growth, 10000)}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	h := newHook()
	w.st.Window, w.st.MaxBatch = h.BatchWindow, h.MaxBatch
	if w.st.MaxBatch <= 0 {
		w.st.MaxBatch = sandbox.DefaultWebhookMaxBatch
	}
	batches := make(chan []sandbox.Growth)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer close(batches)
		h.Batch(w.ctx, w.in, batches)
	}()
	for range workers {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			for b := range batches {
				w.deliver(b)
			}
		}()
	}
	return w
}

// add queues g's delivery; an item without one (a message, a comment on a
// Reel) is left out.
func (w *soakWebhook) add(g sandbox.Growth) {
	if _, ok := sandbox.WebhookBody(g); !ok {
		return
	}
	w.mu.Lock()
	w.st.Queued++
	w.mu.Unlock()
	select {
	case w.in <- g:
	case <-w.ctx.Done():
	}
}

func (w *soakWebhook) deliver(batch []sandbox.Growth) {
	h := w.newHook()
	err := h.DeliverBatch(w.ctx, batch)
	hs := h.Stats()
	pages := map[string]bool{}
	for _, g := range batch {
		pages[g.PageID] = true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.st.Retries += hs.Retried
	switch {
	case err == nil:
		w.st.Batches++
		w.st.Delivered += len(batch)
		w.st.MaxChanges = max(w.st.MaxChanges, len(batch))
		w.st.MaxPages = max(w.st.MaxPages, len(pages))
		if len(pages) > 1 {
			w.st.MultiPage++
		}
		if hs.Retried > 0 {
			w.st.Retried++
		}
		return
	case w.ctx.Err() != nil:
		w.st.CutShort++
		w.st.CutShortChanges += len(batch)
	default:
		w.st.Failed++
		w.st.FailedChanges += len(batch)
	}
	if len(w.st.Errs) < 5 {
		w.st.Errs = append(w.st.Errs, err.Error())
	}
}

// close takes no more changes and waits until every batch is delivered or
// given up, or wait has passed: then the deliveries still tried are cut
// short. It returns the counts.
func (w *soakWebhook) close(wait time.Duration) soakWebhookStats {
	close(w.in)
	done := make(chan struct{})
	go func() {
		w.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		w.cancel()
		<-done
	}
	w.cancel()
	return w.stats()
}

func (w *soakWebhook) stats() soakWebhookStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.st
	st.Errs = append([]string(nil), w.st.Errs...)
	return st
}
