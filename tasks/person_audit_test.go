package tasks

import (
	"context"
	"testing"
	"time"
)

// entrySetter returns a func that sets page's ledger entry of a target to v,
// as an attempt would leave it, for the person record tests.
func entrySetter(t *testing.T, l *Ledger, page string) func(tg Target, v string) {
	return func(tg Target, v string) {
		t.Helper()
		if err := l.rdb.Set(context.Background(), l.entryKey(page, tg), v, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// personClaimer is claim for the person record tests: page's person who
// claimed for target tg by the attempt token, as written at created, with
// the outcome want.
func personClaimer(t *testing.T, l *Ledger, page string, who Person) func(tg Target, token string, created time.Time, want PersonOutcome) PersonClaim {
	return func(tg Target, token string, created time.Time, want PersonOutcome) PersonClaim {
		t.Helper()
		pc, err := l.PersonClaim(context.Background(), page, who, tg, token, created, 24*time.Hour)
		if err != nil || pc.Outcome != want {
			t.Fatalf("claim %s: %+v %v, want outcome %d", tg, pc, err, want)
		}
		return pc
	}
}

// TestPersonDoubtBounds: a doubt holds a commenter's other replies for the
// window (their time does not count: any reply within it answers them; it
// held them an hour, and a doubt outlasting a long pause let a second reply
// through), and a conversation message
// written at the very millisecond the doubtful send could have landed (its
// settle time), which it may answer; a sent holder answers nothing of unknown
// time, and is no error.
func TestPersonDoubtBounds(t *testing.T) {
	l := newLedger(t)
	const page = "100"
	entry := entrySetter(t, l, page)
	now := time.Now().UnixMilli()

	ben := Person{ID: "7101", Commenter: true}
	c1, c2 := Target{Kind: KindComment, ID: "1_1"}, Target{Kind: KindComment, ID: "1_2"}
	claimBen := personClaimer(t, l, page, ben)
	claimBen(c1, "tok1", time.Time{}, PersonClaimed)
	entry(c1, "u|"+itoa(now-30*60*1000))
	claimBen(c2, "tok2", time.Time{}, PersonBusy)
	entry(c1, "u|"+itoa(now-2*3600*1000))
	claimBen(c2, "tok2", time.Time{}, PersonBusy)
	entry(c1, "u|"+itoa(now-25*3600*1000))
	claimBen(c2, "tok2", time.Time{}, PersonClaimed)

	ann := Person{ID: "7102"}
	m1, m2, m3 := messageTargets()
	claimAnn := personClaimer(t, l, page, ann)
	settle := now - 5000
	claimAnn(m1, "tok3", time.UnixMilli(settle-60000), PersonClaimed)
	entry(m1, "u|"+itoa(now-10000)+"|"+itoa(settle))
	if pc := claimAnn(m2, "tok4", time.UnixMilli(settle), PersonBusy); !pc.InDoubt {
		t.Error("a message written at the doubt's settle time: busy, not in doubt")
	}
	// m1 turned out sent (its person record lost): a message of unknown
	// time is not answered by it.
	entry(m1, "s|"+itoa(now)+"|mid_1")
	claimAnn(m3, "tok5", time.Time{}, PersonClaimed)
}

// TestPersonRecordsApart: a conversation's person claims their record for
// PersonTTL, past the reply window, so a doubt marked after the claim holds
// the person as long as its window; and a commenter's record is not the
// conversation person's of the same id (Graph gives each their own ids).
func TestPersonRecordsApart(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	const page = "100"
	ann := Person{ID: "7201"}
	m1 := Target{Kind: KindMessage, ID: "m_1"}
	personClaimer(t, l, page, ann)(m1, "tok1", time.Now().Add(-time.Minute), PersonClaimed)
	if ttl := l.rdb.PTTL(ctx, l.personKey(page, ann)).Val(); ttl < PersonTTL-time.Minute {
		t.Errorf("conversation person's claim kept %s, want about %s", ttl, PersonTTL)
	}
	if err := l.PersonSent(ctx, page, ann, m1, "mid_1", time.Time{}, PersonTTL); err != nil {
		t.Fatal(err)
	}
	personClaimer(t, l, page, Person{ID: ann.ID, Commenter: true})(Target{Kind: KindComment, ID: "1_1"}, "tok2", time.Time{}, PersonClaimed)
}

// TestPersonGapOddArguments: a gap under a millisecond books nothing, and a
// send slot already past is booked as now; neither is an error.
func TestPersonGapOddArguments(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	tg := Target{Kind: KindComment, ID: "1_1"}
	if w, err := l.PersonGap(ctx, "100", "7301", tg, 0, 500*time.Microsecond); err != nil || w != 0 {
		t.Errorf("gap of 500µs: wait %s (%v), want nothing booked", w, err)
	}
	if w, err := l.PersonGap(ctx, "100", "7302", tg, -time.Second, 400*time.Millisecond); err != nil || w != 0 {
		t.Errorf("slot a second past: wait %s (%v), want booked", w, err)
	}
	if pttl, err := l.rdb.PTTL(ctx, l.pageKey("100", "pg:7302")).Result(); err != nil || pttl <= 0 {
		t.Errorf("booking of a past slot: PTTL %s %v, want the gap", pttl, err)
	}
}

// TestScanReplyRefusesMalformed: the payload scanner refuses what is no
// JSON (raw control characters in a string, trailing bytes, a missing comma,
// a number cut off) rather than decode it or panic, and a string of invalid
// UTF-8, which encoding/json decodes with replacement characters, is left
// to it.
func TestScanReplyRefusesMalformed(t *testing.T) {
	for _, s := range []string{"{\"text\":\"a\x01b\"}", `{"page_id":"1"}x`, `{"page_id":"1" "text":"x"}`, `{"created":`, `{"enqueued_at":-`,
		"{\"text\":\"a\xffb\"}"} {
		if r, ok := scanReply([]byte(s)); ok {
			t.Errorf("scanReply(%q) = text %q, want it left to encoding/json", s, r.Text)
		}
	}
}
