package sandbox_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestWebhookRedeliversUntilRetryFor_audit20: Meta redelivers a delivery
// not answered 2xx "with decreasing frequency over the next 36 hours"; a
// Webhook with RetryFor and no Attempts keeps trying past any fixed count
// (here 12 refusals, more than the CLI's former 10 tries), to a real
// loopback receiver, the same signed body every time, and delivers it once
// the receiver answers 200.
func TestWebhookRedeliversUntilRetryFor_audit20(t *testing.T) {
	const secret = "retry-for-secret-20"
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 20})
	items, _ := deliverable(sb.Grow(10))
	if len(items) == 0 {
		t.Fatal("nothing grown with a delivery")
	}
	const refusals = 12
	rec := &hookRecorder{secret: secret, fail: refusals}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	hook := &sandbox.Webhook{URL: srv.URL, AppSecret: secret, BatchWindow: time.Hour,
		Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, RetryFor: time.Hour}
	if err := hook.DeliverBatch(context.Background(), items); err != nil {
		t.Fatalf("DeliverBatch: %v", err)
	}
	bodies := rec.got()
	if len(bodies) != refusals+1 {
		t.Fatalf("%d tries, want %d (%d refused, then one answered 200)", len(bodies), refusals+1, refusals)
	}
	want, _ := sandbox.WebhookBatchBody(items)
	for i, b := range bodies {
		if string(b) != string(want) {
			t.Fatalf("try %d delivered %s, want the same body %s", i+1, b, want)
		}
	}
	if st := hook.Stats(); st.Delivered != int64(len(items)) || st.Deliveries != 1 || st.Retried != refusals || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestWebhookRetryForSchedule_audit20: on a clock that only the waits move,
// a delivery refused for good is tried 1, 2, 4 … s apart, the waits capped
// at MaxBackoff, until the next wait would end past RetryFor after the
// first try (Meta's 36 hours), then given up and counted failed; Attempts,
// when set too, ends the tries first.
func TestWebhookRetryForSchedule_audit20(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 20})
	items, _ := deliverable(sb.Grow(5))
	rec := &hookRecorder{secret: "s", fail: 1 << 30}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)

	run := func(h *sandbox.Webhook) []time.Duration {
		clock := time.Unix(1_700_000_000, 0)
		var waits []time.Duration
		h.URL, h.AppSecret = srv.URL, "s"
		h.Now = func() time.Time { return clock }
		h.Sleep = func(_ context.Context, d time.Duration) error {
			waits = append(waits, d)
			clock = clock.Add(d)
			return nil
		}
		if err := h.DeliverBatch(context.Background(), items[:1]); err == nil {
			t.Fatal("a delivery refused every time reported delivered")
		}
		if st := h.Stats(); st.Failed != 1 || st.Retried != int64(len(waits)) {
			t.Fatalf("stats %+v after %d waits", st, len(waits))
		}
		return waits
	}

	waits := run(&sandbox.Webhook{Backoff: time.Second, MaxBackoff: time.Minute, RetryFor: sandbox.DefaultWebhookRetryFor})
	var sum time.Duration
	for i, d := range waits {
		want := time.Minute
		if i < 6 {
			want = time.Second << i // 1, 2, 4, 8, 16, 32 s
		}
		if d != want {
			t.Fatalf("wait %d is %v, want %v (all: %v…)", i+1, d, want, waits[:min(len(waits), 8)])
		}
		sum += d
	}
	if sum > 36*time.Hour || sum+time.Minute <= 36*time.Hour {
		t.Fatalf("the waits add up to %v: want the tries to go on for 36h, and no further", sum)
	}

	if waits := run(&sandbox.Webhook{Attempts: 3, Backoff: time.Second, RetryFor: time.Hour}); len(waits) != 2 {
		t.Fatalf("Attempts 3 with RetryFor 1h: %d waits (%v), want 2", len(waits), waits)
	}
	if got := (&sandbox.Webhook{}).Schedule(); got.Attempts != sandbox.DefaultWebhookAttempts || got.RetryFor != 0 || got.Backoff != sandbox.DefaultWebhookBackoff {
		t.Fatalf("zero Webhook's schedule %+v, want the defaults (4 tries)", got)
	}
	if got := (&sandbox.Webhook{RetryFor: time.Hour}).Schedule(); got.Attempts != 0 || got.RetryFor != time.Hour {
		t.Fatalf("RetryFor alone: schedule %+v, want no count", got)
	}
}
