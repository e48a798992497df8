package tasks

import (
	"context"
	"testing"
)

// TestMarkFailedReasonLikeClass_audit17: a failed entry written without a
// class (MarkFailed) whose reason itself starts with "class=<word>|" reads
// back with no class and its reason whole, as MarkFailed wrote it: read as a
// class field, the reason lost its head and the entry took a class no error
// gave it (app_not_live, which a run again drops the entry for).
func TestMarkFailedReasonLikeClass_audit17(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	for i, reason := range []string{"class=app_not_live|refused", "class=|refused", "class=app_not_live"} {
		tg := Target{Kind: KindComment, ID: "9_" + string(rune('a'+i))}
		if err := l.MarkFailed(ctx, page, tg, reason); err != nil {
			t.Fatal(err)
		}
		e, err := l.Get(ctx, page, tg)
		if err != nil || e.Status != StatusFailed || e.Class != "" || e.Reason != reason {
			t.Errorf("reason %q: entry %+v %v, want failed, no class, the reason whole", reason, e, err)
			continue
		}
		if ok, err := l.DropFailedEntry(ctx, page, tg, e); err != nil || !ok {
			t.Errorf("reason %q: not dropped by its own entry: %v %v", reason, ok, err)
		}
	}
	// Classed, the reason after the class field is kept whole all the same.
	tg := Target{Kind: KindComment, ID: "9_z"}
	if err := l.MarkFailedClass(ctx, page, tg, "permanent", "class=app_not_live|refused"); err != nil {
		t.Fatal(err)
	}
	if e, err := l.Get(ctx, page, tg); err != nil || e.Class != "permanent" || e.Reason != "class=app_not_live|refused" {
		t.Errorf("classed: entry %+v %v", e, err)
	}
}
