package tasks

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

// TestRateKeysExpire_audit15: the Page's GCRA state and its put-back
// schedule, written by every rated reservation, expire a little after the
// last slot they book: a Page that stops sending (removed from the config)
// leaves no key behind for ever.
func TestRateKeysExpire_audit15(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	lim := Limit{Interval: time.Second, MaxWait: 2 * time.Second}
	var limited int
	for i := range 5 {
		r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "1_" + strconv.Itoa(i)}, "tok", time.Minute, lim)
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome == ReserveLimited {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("no reservation was put back: the put-back schedule is not written")
	}
	k := l.keys(page)
	for _, key := range []string{k.rate, k.back} {
		ttl := l.rdb.PTTL(ctx, key).Val()
		if ttl <= 0 || ttl > 10*time.Second {
			t.Errorf("%s: TTL %s, want a few seconds past the last booked slot", key, ttl)
		}
	}
}

// TestDoubtReplacesHideMark_audit15: a hide that took the place of an
// attempt's claim while that attempt was sending, then the send's answer
// lost: the doubt replaces the hide mark, with its settle time, so that an
// unhide leaves the doubt (settling for as long as the send may still land)
// instead of turning the mark into a doubt that ends with the claim's lease.
func TestDoubtReplacesHideMark_audit15(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	tg := Target{Kind: KindComment, ID: "1_2"}
	mustGo(t, l, page, tg, "tok1", time.Minute)
	if a, err := l.Admit(ctx, page, tg, "tok1", time.Minute, 10, time.Minute); err != nil || a != (Admission{}) {
		t.Fatalf("admit = %+v %v, want admitted", a, err)
	}
	if ok, err := l.MarkHidden(ctx, page, tg.ID, time.Time{}); err != nil || !ok {
		t.Fatalf("mark hidden = %v %v, want the claim replaced", ok, err)
	}
	if err := l.MarkUnknown(ctx, page, tg, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if e, err := l.Get(ctx, page, tg); err != nil || e.Status != StatusUnknown {
		t.Fatalf("entry after the send's answer was lost = %+v %v, want unknown", e, err)
	}
	if _, err := l.UnmarkHidden(ctx, page, tg.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	r, err := l.Reserve(ctx, page, tg, "tok2", time.Minute, Limit{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != ReserveSettling || r.Wait < 5*time.Minute {
		t.Fatalf("reserve after the unhide = %+v, want settling for about the send's settle time (10m)", r)
	}
}

// TestHideMarksKeepLedgerTTL_audit15: every entry the webhook's hide,
// remove and unhide marks write (a hide or remove mark, a hide mark over a
// claim, the doubt an unhide leaves of it, and the hide mark a doubt's
// check leaves) is kept the ledger's TTL, as every other entry: none is
// left in Redis for ever.
func TestHideMarksKeepLedgerTTL_audit15(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	checkTTL := func(what string, tg Target, want Status) {
		t.Helper()
		if e, err := l.Get(ctx, page, tg); err != nil || e.Status != want {
			t.Fatalf("%s: entry %+v %v, want %s", what, e, err, want)
		}
		wantLedgerTTL(t, l, l.entryKey(page, tg), what+": entry")
	}
	hide := func(tg Target) {
		t.Helper()
		if ok, err := l.MarkHidden(ctx, page, tg.ID, time.Time{}); err != nil || !ok {
			t.Fatalf("mark %s hidden = %v %v, want marked", tg, ok, err)
		}
	}
	c := func(id string) Target { return Target{Kind: KindComment, ID: id} }

	hide(c("1_1"))
	checkTTL("hide mark", c("1_1"), StatusFailed)

	post := Target{Kind: KindPost, ID: "100_9"}
	if ok, err := l.MarkRemoved(ctx, page, post); err != nil || !ok {
		t.Fatalf("mark removed = %v %v", ok, err)
	}
	checkTTL("remove mark", post, StatusFailed)

	mustGo(t, l, page, c("1_2"), "tok1", time.Minute)
	hide(c("1_2"))
	checkTTL("hide mark over a claim", c("1_2"), StatusFailed)
	if ok, err := l.UnmarkHidden(ctx, page, "1_2", time.Time{}); err != nil || !ok {
		t.Fatalf("unmark hidden = %v %v, want unmarked", ok, err)
	}
	checkTTL("doubt an unhide left of a claim's hide mark", c("1_2"), StatusUnknown)

	mustGo(t, l, page, c("1_3"), "tok1", time.Minute)
	if err := l.MarkUnknown(ctx, page, c("1_3"), 0); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.MarkHidden(ctx, page, "1_3", time.Time{}); err != nil || ok {
		t.Fatalf("mark hidden in doubt = %v %v, want the doubt left", ok, err)
	}
	r, err := l.Reserve(ctx, page, c("1_3"), "tok2", time.Minute, Limit{})
	if err != nil || r.Outcome != ReserveGo || !r.Doubtful {
		t.Fatalf("reserve in doubt = %+v %v, want go, doubtful", r, err)
	}
	if hidden, err := l.HiddenInDoubt(ctx, page, c("1_3"), "tok2"); err != nil || !hidden {
		t.Fatalf("hidden in doubt = %v %v, want hidden", hidden, err)
	}
	checkTTL("hide mark a doubt's check left", c("1_3"), StatusFailed)
}

// TestBrokenAnswerRecordKeepsLedgerTTL_audit15: a target's record of its
// page-broken answers is kept as long as a ledger entry, then goes: one is
// written for every reply a broken Page answers, and none may stay for ever.
func TestBrokenAnswerRecordKeepsLedgerTTL_audit15(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	tg := Target{Kind: KindComment, ID: "1_1"}
	for range 2 {
		if _, err := l.CountBrokenAnswer(ctx, page, tg); err != nil {
			t.Fatal(err)
		}
	}
	wantLedgerTTL(t, l, l.pageKey(page, "broken:"+tg.String()), "page-broken answers' record")
}

// TestPersonSentAgoAnswersEarlierMessages_audit15: a person's record
// written late (PersonSentAgo: the worker's write that landed after Redis
// was away) says the reply reached them ago before now, in Redis's clock:
// a message they wrote before the reply is answered by it, and one they
// wrote after it is not. (Taken as an absolute time, the record's ago read
// as a time in 1970: the message written before the reply got a second
// reply.)
func TestPersonSentAgoAnswersEarlierMessages_audit15(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	ann := Person{ID: "7501"}
	m1, m2, m3 := messageTargets()
	if err := l.PersonSentAgo(ctx, page, ann, m1, "m_1", time.Minute, PersonTTL); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	pc, err := l.PersonClaim(ctx, page, ann, m2, "tok2", now.Add(-10*time.Minute), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Outcome != PersonAnswered || pc.MessageID != "m_1" {
		t.Fatalf("claim of a message written before the reply = %+v, want answered by m_1", pc)
	}
	if d := now.Sub(pc.At); d < 30*time.Second || d > 5*time.Minute {
		t.Errorf("the reply reached the person %s before now, want about a minute", d)
	}
	if pc, err := l.PersonClaim(ctx, page, ann, m3, "tok3", now, 24*time.Hour); err != nil || pc.Outcome != PersonClaimed {
		t.Fatalf("claim of a message written after the reply = %+v %v, want claimed", pc, err)
	}
}

// TestAppPauseRecordExpires_audit15: the app's record of its last pause,
// doubled while the block goes on, is kept 3 times that pause's length and
// then goes, so that a block long after starts again from the base length.
// (Kept for ever, every later block of the app paused all its Pages for
// the longest pause.)
func TestAppPauseRecordExpires_audit15(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	key := l.prefix + "app:pause_last"
	m := time.Minute
	if d, err := l.AppPauseLength(ctx, m, 30*m); err != nil || d != m {
		t.Fatalf("first app pause %s %v, want 1m", d, err)
	}
	// The pause ran out (its record set more than its length ago), and the
	// Pages' first calls were refused again: twice as long.
	if err := l.rdb.PExpire(ctx, key, 2*m-time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if d, err := l.AppPauseLength(ctx, m, 30*m); err != nil || d != 2*m {
		t.Fatalf("app pause after the last ran out %s %v, want 2m", d, err)
	}
	if ttl := l.rdb.PTTL(ctx, key).Val(); ttl <= 5*m || ttl > 6*m {
		t.Errorf("app pause record TTL %s, want 3 times the pause (6m)", ttl)
	}
}

// TestNotedTextKeepsLedgerTTL_audit15: the digest NoteText keeps of a
// conversation reply's text lives as long as the target's ledger entry.
func TestNotedTextKeepsLedgerTTL_audit15(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	tg := Target{Kind: KindMessage, ID: "m_1"}
	if err := l.NoteText(ctx, page, tg, "Thanks!"); err != nil {
		t.Fatal(err)
	}
	if err := l.NoteText(ctx, page, tg, "Another text"); err != nil {
		t.Fatal(err)
	}
	if d, err := l.NotedText(ctx, page, tg); err != nil || d != TextDigest("Thanks!") {
		t.Fatalf("noted text %q %v, want the first text's digest", d, err)
	}
	wantLedgerTTL(t, l, l.pageKey(page, "text:"+tg.ID), "noted text")
}

// TestRateRecordAndHeldReadExpire_audit15: the record of a Page's
// configured rate is kept the ledger's TTL (each start writes it again for
// the Pages it configures), and a read slot held for a caller that went
// back to its queue (one holder per conversation for the API) goes a
// little after the slot and its lateness: neither stays for ever.
func TestRateRecordAndHeldReadExpire_audit15(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	if _, err := l.RecordRate(ctx, page, "1/s burst 2"); err != nil {
		t.Fatal(err)
	}
	wantLedgerTTL(t, l, l.pageKey(page, "rate_config"), "rate record")

	lim := Limit{Interval: time.Second}
	if _, err := l.TakeReadKey(ctx, page, "conv", lim); err != nil {
		t.Fatal(err)
	}
	// The next slot is a second away, further than the caller waits: it is
	// booked and held for it.
	if _, err := l.TakeReadHeld(ctx, page, "conv", "t_1", lim, time.Millisecond, time.Second); !errors.Is(err, ErrReadLater) {
		t.Fatalf("held read = %v, want ErrReadLater", err)
	}
	ttl := l.rdb.PTTL(ctx, l.pageKey(page, "conv:held:t_1")).Val()
	if ttl <= 0 || ttl > 5*time.Second {
		t.Errorf("held read slot's TTL %s, want a little after the slot and its lateness (~3s)", ttl)
	}
}

// wantLedgerTTL checks that key lives about the ledger's TTL; what names the
// record in the error.
func wantLedgerTTL(t *testing.T, l *Ledger, key, what string) {
	t.Helper()
	ttl := l.rdb.PTTL(context.Background(), key).Val()
	if ttl < DefaultLedgerTTL-time.Minute || ttl > DefaultLedgerTTL {
		t.Errorf("%s's TTL %s, want the ledger's %s", what, ttl, DefaultLedgerTTL)
	}
}
