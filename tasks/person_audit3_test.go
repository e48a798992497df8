package tasks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

// setEntry sets page's ledger entry of tg to v, for an hour.
func setEntry(t *testing.T, l *Ledger, page string, tg Target, v string) {
	t.Helper()
	if err := l.rdb.Set(context.Background(), l.entryKey(page, tg), v, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
}

// TestPersonAnsweredAtSameMillisecond: a reply that reached the person at
// the very millisecond they wrote a message answers it, whether the person's
// record of their last reply says so or, that record lost, the ledger entry
// of the target that holds their claim.
func TestPersonAnsweredAtSameMillisecond(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	const page = "100"
	ann := Person{ID: "7401"}
	claim := personClaimer(t, l, page, ann)
	m1, m2, m3 := messageTargets()
	landed := time.UnixMilli(time.Now().Add(-time.Minute).UnixMilli())
	if err := l.PersonSent(ctx, page, ann, m1, "mid_1", landed, PersonTTL); err != nil {
		t.Fatal(err)
	}
	if pc := claim(m2, "tok2", landed, PersonAnswered); pc.MessageID != "mid_1" {
		t.Errorf("answered by %q, want mid_1", pc.MessageID)
	}

	bob := Person{ID: "7402"}
	claimBob := personClaimer(t, l, page, bob)
	claimBob(m1, "tok1", landed.Add(-time.Minute), PersonClaimed)
	setEntry(t, l, page, m1, "s|"+itoa(landed.UnixMilli())+"|mid_b1")
	if pc := claimBob(m3, "tok3", landed, PersonAnswered); pc.MessageID != "mid_b1" {
		t.Errorf("answered by the claim's sent target as %q, want mid_b1", pc.MessageID)
	}
}

// TestPersonDoubtOfUnknownTimeBounded: a doubt holds a message whose time is
// unknown only within the window: an abandoned doubt older than that would
// otherwise hold the person's every such message for as long as the claim
// lives.
func TestPersonDoubtOfUnknownTimeBounded(t *testing.T) {
	l := newLedger(t)
	const page = "100"
	ann := Person{ID: "7403"}
	claim := personClaimer(t, l, page, ann)
	m1, m2, _ := messageTargets()
	now := time.Now().UnixMilli()
	claim(m1, "tok1", time.Now().Add(-26*time.Hour), PersonClaimed)
	setEntry(t, l, page, m1, "u|"+itoa(now-25*3600*1000))
	claim(m2, "tok2", time.Time{}, PersonClaimed)
}

// TestPersonReleaseFreesPerson: an attempt that sent nothing lets go of the
// person while its target's ledger entry is still claimed (the reply put
// back for a pause, its lease running): the person's next reply is not held
// by it.
func TestPersonReleaseFreesPerson(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	const page = "100"
	ann := Person{ID: "7404"}
	claim := personClaimer(t, l, page, ann)
	m1, m2, _ := messageTargets()
	written := time.Now().Add(-time.Minute)
	setEntry(t, l, page, m1, "c|tok1|"+itoa(time.Now().UnixMilli()+30000))
	claim(m1, "tok1", written, PersonClaimed)
	claim(m2, "tok2", written.Add(time.Second), PersonBusy)
	if err := l.PersonRelease(ctx, page, ann, m1, "tok1"); err != nil {
		t.Fatal(err)
	}
	claim(m2, "tok2", written.Add(time.Second), PersonClaimed)
}

// TestPersonSentKeepsOthersClaim: recording the reply of another target (a
// doubt settled late, found in the conversation) ends that target's claim
// only: the claim of the reply being sent now still holds the person's
// messages written after the recorded one landed.
func TestPersonSentKeepsOthersClaim(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	const page = "100"
	ann := Person{ID: "7405"}
	claim := personClaimer(t, l, page, ann)
	m1, m2, m3 := messageTargets()
	landed := time.Now().Add(-10 * time.Minute)
	setEntry(t, l, page, m1, "c|tok1|"+itoa(time.Now().UnixMilli()+30000))
	claim(m1, "tok1", landed.Add(time.Minute), PersonClaimed)
	if err := l.PersonSent(ctx, page, ann, m2, "mid_2", landed, PersonTTL); err != nil {
		t.Fatal(err)
	}
	claim(m3, "tok3", landed.Add(2*time.Minute), PersonBusy)
}

// TestPersonSentAtEpoch: a reply whose Graph time is the Unix epoch (not the
// zero time, which means now) is recorded at that time, so it answers no
// message written since.
func TestPersonSentAtEpoch(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	ann := Person{ID: "7406"}
	if err := l.PersonSent(ctx, "100", ann, Target{Kind: KindMessage, ID: "m_1"}, "mid_1", time.UnixMilli(0), PersonTTL); err != nil {
		t.Fatal(err)
	}
	personClaimer(t, l, "100", ann)(Target{Kind: KindMessage, ID: "m_2"}, "tok2", time.Now().Add(-time.Minute), PersonClaimed)
}

// TestPersonCommenterClaimKeptForWindow: a commenter's claim lives as long
// as the Page's reply window, which for comments may pass PersonTTL: gone
// earlier, a doubt its target still holds would no longer hold the
// commenter, and a second reply could go to them.
func TestPersonCommenterClaimKeptForWindow(t *testing.T) {
	l := newLedger(t)
	const page = "100"
	ben := Person{ID: "7407", Commenter: true}
	window := 72 * time.Hour
	if pc, err := l.PersonClaim(context.Background(), page, ben, Target{Kind: KindComment, ID: "1_1"}, "tok1", time.Time{}, window); err != nil || pc.Outcome != PersonClaimed {
		t.Fatalf("commenter claim: %+v %v", pc, err)
	}
	if ttl := l.rdb.PTTL(context.Background(), l.personKey(page, ben)).Val(); ttl <= PersonTTL || ttl > window {
		t.Errorf("commenter's claim kept %s, want the window %s", ttl, window)
	}
}

// TestPersonGapWaitIsTheBooking: a reply refused by the person's gap is told
// how long until the person may get one, the booked slot plus the gap, in
// milliseconds: told less, it comes back, is refused again, and so on.
func TestPersonGapWaitIsTheBooking(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	const gap = time.Hour
	if w, err := l.PersonGap(ctx, "100", "7408", Target{Kind: KindComment, ID: "c1"}, 0, gap); err != nil || w != 0 {
		t.Fatalf("first reply: wait %s %v, want booked", w, err)
	}
	w, err := l.PersonGap(ctx, "100", "7408", Target{Kind: KindComment, ID: "c2"}, time.Minute, gap)
	if err != nil || w <= gap-10*time.Minute || w > gap {
		t.Fatalf("second reply: wait %s %v, want about %s", w, err, gap)
	}
}

// TestPersonCallsFailWithoutRedis: with Redis unreachable every person call
// fails with an error naming the Page, never a claim (PersonClaim's zero
// answer is PersonClaimed: a reply that may go) or a booking.
func TestPersonCallsFailWithoutRedis(t *testing.T) {
	db := redistest.New(t)
	rdb := redis.NewClient(&redis.Options{Addr: db.Addr, DB: db.DB})
	_ = rdb.Close()
	l := NewLedger(rdb, LedgerOptions{})
	ctx := context.Background()
	const page = "731"
	who, tg := Person{ID: "7409"}, Target{Kind: KindMessage, ID: "m_1"}
	check := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), page) {
			t.Errorf("%s without Redis: %v, want an error naming page %s", what, err, page)
		}
	}
	_, err := l.PersonClaim(ctx, page, who, tg, "tok", time.Now(), time.Hour)
	check("PersonClaim", err)
	check("PersonSent", l.PersonSent(ctx, page, who, tg, "mid", time.Time{}, PersonTTL))
	check("PersonRelease", l.PersonRelease(ctx, page, who, tg, "tok"))
	_, err = l.PersonGap(ctx, page, who.ID, tg, 0, time.Second)
	check("PersonGap", err)
}
