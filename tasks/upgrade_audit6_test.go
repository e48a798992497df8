package tasks

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// TestOldLedgerValuesUnderNewScripts_audit6: during a rolling upgrade, old
// workers write ledger entries with their own clock in the value
// ("s|<ms>|<id>", "u|<ms>|<settle-ms>", "f|<ms>|<reason>": the same shape the
// new scripts write with Redis's clock) while new workers run the new
// scripts on them. A sent entry keeps its message id and time under a new
// MarkSent, a failed one is not overwritten by a doubt, an old doubt's
// settle time running past a new one is kept, and the person claims read an
// old doubt as before.
func TestOldLedgerValuesUnderNewScripts_audit6(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	page, who := "100", Person{ID: "7006"}
	m1, m2, m3 := messageTargets()
	// An old worker whose clock is 3 minutes behind.
	old := time.Now().Add(-3 * time.Minute).UnixMilli()
	set := func(tg Target, v string) {
		t.Helper()
		if err := l.rdb.Set(ctx, l.entryKey(page, tg), v, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	get := func(tg Target) string {
		t.Helper()
		v, err := l.rdb.Get(ctx, l.entryKey(page, tg)).Result()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	sent := "s|" + strconv.FormatInt(old, 10) + "|mid.old"
	set(m1, sent)
	if err := l.MarkSent(ctx, page, m1, "mid.new"); err != nil {
		t.Fatal(err)
	}
	if v := get(m1); v != sent {
		t.Errorf("old sent entry %q after a new MarkSent, want it kept", v)
	}
	if e, err := l.Get(ctx, page, m1); err != nil || e.Status != StatusSent || e.MessageID != "mid.old" || e.At.UnixMilli() != old {
		t.Errorf("old sent entry read as %+v %v", e, err)
	}

	failed := "f|" + strconv.FormatInt(old, 10) + "|permanent: 551"
	set(m2, failed)
	if err := l.MarkUnknown(ctx, page, m2, 0); err != nil {
		t.Fatal(err)
	}
	if v := get(m2); v != failed {
		t.Errorf("old failed entry %q after a new MarkUnknown, want it kept", v)
	}
	if e, err := l.Get(ctx, page, m2); err != nil || e.Status != StatusFailed || e.Reason != "permanent: 551" {
		t.Errorf("old failed entry read as %+v %v", e, err)
	}

	// An old doubt whose settle time is an hour ahead: a new doubt with a
	// shorter one keeps it.
	settle := time.Now().Add(time.Hour).UnixMilli()
	doubt := "u|" + strconv.FormatInt(old, 10) + "|" + strconv.FormatInt(settle, 10)
	set(m3, doubt)
	if err := l.MarkUnknown(ctx, page, m3, time.Second); err != nil {
		t.Fatal(err)
	}
	if v := get(m3); v != doubt {
		t.Errorf("old doubt %q after a new, shorter one, want it kept", v)
	}
	if res, err := l.Reserve(ctx, page, m3, "tok", time.Minute, Limit{}); err != nil || res.Outcome != ReserveSettling {
		t.Errorf("reserve of an old settling doubt: %+v %v, want settling", res, err)
	}

	// The person's claim is m3's, in doubt: a message written before the
	// doubt's settle time waits, one after it does not.
	if err := l.rdb.Set(ctx, l.personKey(page, who), "c|tok3|"+m3.String(), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	m4 := Target{Kind: KindMessage, ID: "m_4"}
	pc, err := l.PersonClaim(ctx, page, who, m4, "tok4", time.Now(), 24*time.Hour)
	if err != nil || pc.Outcome != PersonBusy || !pc.InDoubt {
		t.Errorf("a message written before an old doubt's settle time: %+v %v, want busy in doubt", pc, err)
	}
	pc, err = l.PersonClaim(ctx, page, who, m4, "tok4", time.UnixMilli(settle).Add(time.Minute), 24*time.Hour)
	if err != nil || pc.Outcome != PersonClaimed {
		t.Errorf("a message written after an old doubt's settle time: %+v %v, want claimed", pc, err)
	}
}
