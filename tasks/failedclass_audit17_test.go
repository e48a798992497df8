package tasks

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

const classReason_audit17 = "reply c:1_1: graph: messages: (#10) Cannot message users who are not admins, developers or testers of the app [code 10/2018028, http 403, class permanent]"

// TestMarkFailedClassKept_audit17: MarkFailedClass keeps the error's class
// as a field of the failed entry ("f|<ms>|class=<class>|<reason>"), which
// Get, GetMany and Reserve give back as Entry.Class beside the reason, the
// reason unchanged; DropFailedEntry drops the entry only for its own class
// and reason (so does dropFailedScript for the whole rest an earlier
// version's DropFailed passes, its reason being all after 'f|<ms>|').
func TestMarkFailedClassKept_audit17(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	tg := Target{Kind: KindComment, ID: "1_1"}
	if err := l.MarkFailedClass(ctx, page, tg, "app_not_live", classReason_audit17); err != nil {
		t.Fatal(err)
	}
	raw, err := l.Client().Get(ctx, l.entryKey(page, tg)).Result()
	if err != nil || !strings.HasPrefix(raw, "f|") || !strings.HasSuffix(raw, "|class=app_not_live|"+classReason_audit17) {
		t.Fatalf("stored %q %v, want f|<ms>|class=app_not_live|<reason>", raw, err)
	}
	want := func(how string, e Entry) {
		t.Helper()
		if e.Status != StatusFailed || e.Class != "app_not_live" || e.Reason != classReason_audit17 || e.At.IsZero() {
			t.Errorf("%s: entry %+v, want failed, class app_not_live, the reason whole", how, e)
		}
	}
	e, err := l.Get(ctx, page, tg)
	if err != nil {
		t.Fatal(err)
	}
	want("Get", e)
	es, err := l.GetMany(ctx, page, []Target{tg})
	if err != nil {
		t.Fatal(err)
	}
	want("GetMany", es[0])
	res, err := l.Reserve(ctx, page, tg, "tok", time.Minute, Limit{})
	if err != nil || res.Outcome != ReserveDone {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	want("Reserve", res.Entry)

	// The reason alone, another class, another reason: kept.
	for _, other := range []Entry{{Reason: classReason_audit17}, {Class: "permanent", Reason: classReason_audit17}, {Class: "app_not_live", Reason: "x" + classReason_audit17}} {
		if ok, err := l.DropFailedEntry(ctx, page, tg, other); err != nil || ok {
			t.Errorf("dropped by %+v: %v %v", other, ok, err)
		}
	}
	if ok, err := l.DropFailed(ctx, page, tg, classReason_audit17); err != nil || ok {
		t.Errorf("dropped by DropFailed of the reason alone: %v %v", ok, err)
	}
	if ok, err := l.DropFailedEntry(ctx, page, tg, res.Entry); err != nil || !ok {
		t.Fatalf("not dropped by its own entry: %v %v", ok, err)
	}
	if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusNone {
		t.Errorf("after the drop: %+v %v", e, err)
	}

	// A worker of the earlier version reads the rest after 'f|<ms>|' as the
	// reason, and drops the entry with it.
	if err := l.MarkFailedClass(ctx, page, tg, "app_not_live", classReason_audit17); err != nil {
		t.Fatal(err)
	}
	// (Its DropFailed passed the reason it read to dropFailedScript as it
	// was.)
	if n, err := l.runScript(ctx, []string{l.entryKey(page, tg)}, dropFailedScript, "class=app_not_live|"+classReason_audit17); err != nil || n != 1 {
		t.Errorf("not dropped by the earlier version's DropFailed: %v %v", n, err)
	}
}

// TestFailedEntryWithoutClass_audit17: an entry written as the earlier
// version wrote it ("f|<ms>|<reason>", raw), kept up to the ledger's 8
// days across an upgrade, reads with no class and its reason whole, and
// DropFailedEntry of it as read drops it; a class that is not one word of
// a-z and _ is never kept (the reason is then all the entry keeps), so no
// text of an answer or secret reaches the field.
func TestFailedEntryWithoutClass_audit17(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	old := Target{Kind: KindComment, ID: "1_1"}
	ms := strconv.FormatInt(time.Now().UnixMilli(), 10)
	if err := l.Client().Set(ctx, l.entryKey(page, old), "f|"+ms+"|"+classReason_audit17, 8*24*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	e, err := l.Get(ctx, page, old)
	if err != nil || e.Status != StatusFailed || e.Class != "" || e.Reason != classReason_audit17 {
		t.Fatalf("old entry %+v %v, want failed, no class, the reason whole", e, err)
	}
	if ok, err := l.DropFailedEntry(ctx, page, old, e); err != nil || !ok {
		t.Errorf("old entry not dropped: %v %v", ok, err)
	}

	for i, bad := range []string{"", "App_Not_Live", "a|b", "tok EAAB123", "app-not-live", strings.Repeat("a", 33)} {
		tg := Target{Kind: KindComment, ID: "2_" + strconv.Itoa(i)}
		if err := l.MarkFailedClass(ctx, page, tg, bad, "refused"); err != nil {
			t.Fatal(err)
		}
		raw, _ := l.Client().Get(ctx, l.entryKey(page, tg)).Result()
		e, err := l.Get(ctx, page, tg)
		if err != nil || e.Class != "" || e.Reason != "refused" || strings.Contains(raw, "class=") {
			t.Errorf("class %q: stored %q, entry %+v %v; want the reason alone", bad, raw, e, err)
		}
	}
	// A hide mark and a remove mark keep reading as before beside classed
	// failures.
	if _, err := l.MarkHidden(ctx, page, "3_1", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if e, _ := l.Get(ctx, page, Target{Kind: KindComment, ID: "3_1"}); e.Reason != HiddenReason || e.Class != "" {
		t.Errorf("hide mark: %+v", e)
	}
}
