package tasks

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestHiddenInDoubt_audit11: HiddenInDoubt, asked by the attempt that holds
// a doubtful comment's claim once Graph said no earlier reply landed, says
// hidden only when the comment's last hide or unhide is a hide, and then
// turns that attempt's claim into the hide mark (no lease: nothing went
// out); a claim another attempt took, or a hide mark already there, is left
// as it is; a comment never hidden, shown again, or a target of another
// kind is not hidden.
func TestHiddenInDoubt_audit11(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	c := func(id string) Target { return Target{Kind: KindComment, ID: id} }
	claim := func(tg Target, token string) {
		t.Helper()
		if err := l.MarkUnknown(ctx, page, tg, 0); err != nil {
			t.Fatal(err)
		}
		if res, err := l.Reserve(ctx, page, tg, token, time.Minute, Limit{}); err != nil || res.Outcome != ReserveGo || !res.Doubtful {
			t.Fatalf("reserve %s: %+v %v", tg, res, err)
		}
	}
	ask := func(tg Target, token string, want bool) Entry {
		t.Helper()
		got, err := l.HiddenInDoubt(ctx, page, tg, token)
		if err != nil || got != want {
			t.Fatalf("HiddenInDoubt(%s, %s): %v %v, want %v", tg, token, got, err, want)
		}
		e, err := l.Get(ctx, page, tg)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	// Never hidden: the claim stays, the reply goes.
	claim(c("1"), "a")
	if e := ask(c("1"), "a", false); e.Status != StatusClaimed {
		t.Errorf("never hidden: %+v, want the claim kept", e)
	}

	// Hidden during the doubt: the claim becomes the mark, without a lease,
	// and an unhide then drops it (the reply is owed again).
	if err := l.MarkUnknown(ctx, page, c("2"), 0); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.MarkHidden(ctx, page, "2", time.Time{}); err != nil || ok {
		t.Fatalf("hide of a doubt: %v %v, want the doubt left", ok, err)
	}
	if res, err := l.Reserve(ctx, page, c("2"), "a", time.Minute, Limit{}); err != nil || res.Outcome != ReserveGo || !res.Doubtful {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	if e := ask(c("2"), "a", true); e.Status != StatusFailed || e.Reason != HiddenReason {
		t.Errorf("hidden during the doubt: %+v, want failed, %q", e, HiddenReason)
	}
	v, _ := l.rdb.Get(ctx, l.entryKey(page, c("2"))).Result()
	if n := len(strings.Split(v, "|")); n != 3 {
		t.Errorf("mark %q: want f|<ms>|<reason>, no lease", v)
	}
	if ok, err := l.UnmarkHidden(ctx, page, "2", time.Time{}); err != nil || !ok {
		t.Errorf("unhide: %v %v, want the mark dropped", ok, err)
	}
	if e, _ := l.Get(ctx, page, c("2")); e.Status != StatusNone {
		t.Errorf("after the unhide: %+v, want nothing", e)
	}

	// Hidden, then shown again, during the doubt: not hidden.
	if err := l.MarkUnknown(ctx, page, c("3"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.MarkHidden(ctx, page, "3", time.Unix(1767000000, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.UnmarkHidden(ctx, page, "3", time.Unix(1767000001, 0)); err != nil {
		t.Fatal(err)
	}
	claim(c("3"), "b")
	if e := ask(c("3"), "b", false); e.Status != StatusClaimed {
		t.Errorf("shown again: %+v, want the claim kept", e)
	}

	// Hidden, but another attempt holds the claim now: hidden, its claim
	// left to it.
	if err := l.MarkUnknown(ctx, page, c("4"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.MarkHidden(ctx, page, "4", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if res, err := l.Reserve(ctx, page, c("4"), "other", time.Minute, Limit{}); err != nil || res.Outcome != ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	if e := ask(c("4"), "a", true); e.Status != StatusClaimed {
		t.Errorf("another attempt's claim: %+v, want it kept", e)
	}

	// A post is never hidden.
	if got, err := l.HiddenInDoubt(ctx, page, Target{Kind: KindPost, ID: "100_5"}, "a"); err != nil || got {
		t.Errorf("post: %v %v, want not hidden", got, err)
	}
}
