package tasks

import (
	"context"
	"testing"
)

// TestDropFailedExactReason_audit16: DropFailed deletes an entry only when
// its reason (as Get gives it: all after 'f|<ms>|') is the one given. A
// reason that merely ends with '|' and the given one ("x|" + reason, or a
// reason of its own with '|' in it) was dropped too by a suffix match.
func TestDropFailedExactReason_audit16(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	const reason = "reply c:1_1: graph: messages: (#10) Cannot message users who are not admins, developers or testers of the app [code 10/2018028, http 403, class permanent]"
	for i, other := range []string{"x|" + reason, "a|b|" + reason, "|" + reason} {
		tg := Target{Kind: KindComment, ID: "1_" + string(rune('a'+i))}
		if err := l.MarkFailed(ctx, page, tg, other); err != nil {
			t.Fatal(err)
		}
		if e, err := l.Get(ctx, page, tg); err != nil || e.Reason != other {
			t.Fatalf("%q: entry %+v %v", other, e, err)
		}
		if ok, err := l.DropFailed(ctx, page, tg, reason); err != nil || ok {
			t.Errorf("reason %q: dropped by DropFailed of %q: %v %v", other, reason, ok, err)
		}
		if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusFailed || e.Reason != other {
			t.Errorf("reason %q: entry %+v %v after DropFailed, want kept", other, e, err)
		}
		// Its own reason drops it.
		if ok, err := l.DropFailed(ctx, page, tg, other); err != nil || !ok {
			t.Errorf("reason %q: not dropped by its own: %v %v", other, ok, err)
		}
	}
}
