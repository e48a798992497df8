package tasks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestLiftStaleBrokenPause: a page_broken pause set while the Page had one
// token is lifted by a ledger whose config gives it another, and only then;
// Redis never holds the token itself.
func TestLiftStaleBrokenPause(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	const page, other = "100", "200"
	const oldToken, newToken = "EAABoldtokenoldtokenoldtoken", "EAABnewtokennewtokennewtoken"
	before := NewLedger(db.Client, LedgerOptions{PageTokens: map[string]string{page: oldToken, other: oldToken}})
	after := NewLedger(db.Client, LedgerOptions{PageTokens: map[string]string{page: newToken, other: oldToken}})
	noTokens := NewLedger(db.Client, LedgerOptions{})
	paused := func(l *Ledger, p string) string {
		t.Helper()
		d, reason, err := l.Paused(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if d <= 0 {
			return ""
		}
		return reason
	}
	lift := func(l *Ledger, p string) string {
		t.Helper()
		reason, err := l.LiftStaleBrokenPause(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return reason
	}
	const broken = "page_broken: (#190) Error validating access token"
	for _, p := range []string{page, other} {
		if set, err := before.Pause(ctx, p, 5*time.Minute, broken); err != nil || !set {
			t.Fatalf("pause %s = %v, %v", p, set, err)
		}
	}

	// Nothing in Redis holds a token.
	keys, err := db.Client.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		v, _ := db.Client.Get(ctx, k).Result()
		if strings.Contains(k+v, oldToken) || strings.Contains(k+v, "EAAB") {
			t.Fatalf("Redis holds a token: %s = %q", k, v)
		}
	}

	// The token the pause was set with lifts nothing.
	if got := lift(before, page); got != "" || paused(before, page) != broken {
		t.Fatalf("same token lifted %q; pause now %q", got, paused(before, page))
	}
	// A ledger that knows no token for the Page lifts nothing either.
	if got := lift(noTokens, page); got != "" || paused(before, page) != broken {
		t.Fatalf("no token lifted %q", got)
	}
	// Another token lifts it, and only for the Page whose token changed.
	if got := lift(after, page); got != broken || paused(after, page) != "" {
		t.Fatalf("new token lifted %q; pause now %q", got, paused(after, page))
	}
	if got := lift(after, other); got != "" || paused(after, other) != broken {
		t.Fatalf("unchanged Page: lifted %q; pause now %q", got, paused(after, other))
	}
	// Reserve sees the lifted Page free again.
	r, err := after.Reserve(ctx, page, Target{Kind: KindComment, ID: "1_1"}, "claim", time.Minute, Limit{})
	if err != nil || r.Outcome != ReserveGo {
		t.Fatalf("reserve after the lift = %+v, %v", r, err)
	}

	// A throttle is not the token's to lift.
	if _, err := before.Pause(ctx, page, time.Minute, "throttled: code 80006"); err != nil {
		t.Fatal(err)
	}
	if got := lift(after, page); got != "" || paused(after, page) == "" {
		t.Fatalf("throttle lifted: %q", got)
	}
	// A page_broken pause set by a ledger without fingerprints (an older
	// pagereply) is lifted by any token.
	if err := before.Resume(ctx, page); err != nil {
		t.Fatal(err)
	}
	if _, err := noTokens.Pause(ctx, page, time.Minute, broken); err != nil {
		t.Fatal(err)
	}
	if got := lift(before, page); got != broken {
		t.Fatalf("pause without a fingerprint: lifted %q", got)
	}
	// A throttle set after a page_broken pause drops its fingerprint: the
	// throttle stays whatever the token.
	if _, err := after.Pause(ctx, page, time.Minute, broken); err != nil {
		t.Fatal(err)
	}
	if _, err := after.Pause(ctx, page, time.Hour, "throttled: code 4"); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Client.Exists(ctx, after.pageKey(page, "pause_token")).Result(); n != 0 {
		t.Fatal("a throttle kept the fingerprint of the page_broken pause it replaced")
	}
	if got := lift(before, page); got != "" {
		t.Fatalf("throttle over a broken pause lifted: %q", got)
	}
	// Resume drops the fingerprint too.
	if err := after.Resume(ctx, page); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.Client.Exists(ctx, after.pageKey(page, "pause"), after.pageKey(page, "pause_token")).Result(); n != 0 {
		t.Fatalf("resume left %d keys", n)
	}

	// A wrong app secret: Graph refuses the calls' appsecret_proof as the
	// token's fault. The config that puts the right secret in beside the
	// same token lifts the pause; the same secret does not.
	const wrong, right = "wrong-app-secret-0123456789", "right-app-secret-0123456789"
	wrongSecret := NewLedger(db.Client, LedgerOptions{PageTokens: map[string]string{page: oldToken}, AppSecret: wrong})
	sameSecret := NewLedger(db.Client, LedgerOptions{PageTokens: map[string]string{page: oldToken}, AppSecret: wrong})
	rightSecret := NewLedger(db.Client, LedgerOptions{PageTokens: map[string]string{page: oldToken}, AppSecret: right})
	const badProof = "page_broken: (#100) Invalid appsecret_proof provided in the API argument"
	if _, err := wrongSecret.Pause(ctx, page, 5*time.Minute, badProof); err != nil {
		t.Fatal(err)
	}
	if got := lift(sameSecret, page); got != "" || paused(sameSecret, page) != badProof {
		t.Fatalf("the same token and app secret lifted %q", got)
	}
	if got := lift(rightSecret, page); got != badProof || paused(rightSecret, page) != "" {
		t.Fatalf("another app secret lifted %q; pause now %q", got, paused(rightSecret, page))
	}
	// Without an app secret the fingerprint is the token's alone, as older
	// pagereplys kept it: their pauses are lifted by a new token only.
	sum := sha256.Sum256([]byte("pagereply page token\x00" + oldToken))
	if got := TokenFingerprint(oldToken, ""); got != hex.EncodeToString(sum[:8]) {
		t.Fatalf("fingerprint without an app secret %s, want the token's alone", got)
	}
}

// TestRecordRate: a Page's rate is kept; a different one says so and drops
// the put-back schedule spaced at the old one.
func TestRecordRate(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	l := NewLedger(db.Client, LedgerOptions{})
	const page = "100"
	for i, c := range []struct {
		rate    string
		changed bool
	}{{"1/1s burst 1", false}, {"1/1s burst 1", false}, {"50/1s burst 1", true}, {"50/1s burst 1", false}} {
		if err := db.Client.Set(ctx, l.keys(page).back, "123", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		changed, err := l.RecordRate(ctx, page, c.rate)
		if err != nil || changed != c.changed {
			t.Fatalf("step %d (%s): changed %v, %v; want %v", i, c.rate, changed, err, c.changed)
		}
		if n, _ := db.Client.Exists(ctx, l.keys(page).back).Result(); (n == 0) != c.changed {
			t.Fatalf("step %d: put-back schedule kept %v with the rate changed %v", i, n == 1, c.changed)
		}
	}
}
