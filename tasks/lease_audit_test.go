package tasks

import (
	"context"
	"testing"
	"time"
)

// TestLease: a Page's lease is held by one token at a time, for its time to
// live; only that token renews or releases it, and RenewLease says when the
// token no longer holds it. Another token's late renewal or release (a poll
// whose lease ran out and was taken) must not extend or free the new
// holder's lease, or a third poll could run beside it.
func TestLease(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page, name, ttl = "100", "poll", 30 * time.Second
	key := l.pageKey(page, "lease:"+name)
	pttl := func() time.Duration { return l.rdb.PTTL(ctx, key).Val() }

	tok, ok, err := l.TryLease(ctx, page, name, ttl)
	if err != nil || !ok || tok == "" {
		t.Fatalf("first lease: %q %v %v", tok, ok, err)
	}
	if d := pttl(); d <= ttl-5*time.Second || d > ttl {
		t.Fatalf("lease lives %s, want about %s", d, ttl)
	}
	if _, ok, err := l.TryLease(ctx, page, name, ttl); err != nil || ok {
		t.Fatalf("second lease while held: %v %v, want refused", ok, err)
	}
	if _, ok, err := l.TryLease(ctx, page, "other", ttl); err != nil || !ok {
		t.Fatalf("a lease of another name: %v %v, want taken", ok, err)
	}

	if ok, err := l.RenewLease(ctx, page, name, "not-the-holder", 10*ttl); err != nil || ok {
		t.Fatalf("renewal by another token: %v %v, want false", ok, err)
	}
	if d := pttl(); d > ttl {
		t.Fatalf("another token's renewal extended the lease to %s", d)
	}
	if ok, err := l.RenewLease(ctx, page, name, tok, 10*ttl); err != nil || !ok {
		t.Fatalf("renewal by the holder: %v %v, want true", ok, err)
	}
	if d := pttl(); d <= 9*ttl || d > 10*ttl {
		t.Fatalf("renewed lease lives %s, want about %s", d, 10*ttl)
	}

	if err := l.ReleaseLease(ctx, page, name, "not-the-holder"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := l.TryLease(ctx, page, name, ttl); err != nil || ok {
		t.Fatalf("lease after another token's release: %v %v, want still held", ok, err)
	}
	if err := l.ReleaseLease(ctx, page, name, tok); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.RenewLease(ctx, page, name, tok, ttl); err != nil || ok {
		t.Fatalf("renewal of a released lease: %v %v, want false", ok, err)
	}
	if _, ok, err := l.TryLease(ctx, page, name, ttl); err != nil || !ok {
		t.Fatalf("lease after its release: %v %v, want taken", ok, err)
	}
}
