package tasks

import (
	"context"
	"testing"
	"time"
)

// TestPersonRecord walks a person's record through its states: a claim,
// another message's reply busy behind it and the claim's own target
// renewing it, a release after a send that sent nothing, a hold after one in
// doubt, a sent record answering the messages written before it and not
// those written after, and a sent record at a given time.
func TestPersonRecord(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	page, psid := "100", Person{ID: "7001"}
	m1, m2, m3 := Target{Kind: KindMessage, ID: "m_1"}, Target{Kind: KindMessage, ID: "m_2"}, Target{Kind: KindMessage, ID: "m_3"}
	t0 := time.Now().Add(-time.Minute)
	claim := func(tg Target, created time.Time, want PersonOutcome) PersonClaim {
		t.Helper()
		pc, err := l.PersonClaim(ctx, page, psid, tg, created, 10*time.Second)
		if err != nil || pc.Outcome != want {
			t.Fatalf("claim %s: %+v %v, want outcome %d", tg, pc, err, want)
		}
		return pc
	}
	claim(m1, t0, PersonClaimed)
	if pc := claim(m2, t0.Add(time.Second), PersonBusy); pc.Wait <= 0 || pc.Wait > 10*time.Second {
		t.Errorf("busy wait %s, want the claim's time left", pc.Wait)
	}
	claim(m1, t0, PersonClaimed) // its own target: renewed

	// Released after a send that sent nothing: the other reply may go.
	if err := l.PersonRelease(ctx, page, psid, m2, 0); err != nil { // not m2's: no effect
		t.Fatal(err)
	}
	claim(m2, t0.Add(time.Second), PersonBusy)
	if err := l.PersonRelease(ctx, page, psid, m1, 0); err != nil {
		t.Fatal(err)
	}
	claim(m2, t0.Add(time.Second), PersonClaimed)

	// Held after a send in doubt.
	if err := l.PersonRelease(ctx, page, psid, m2, time.Hour); err != nil {
		t.Fatal(err)
	}
	if pc := claim(m1, t0, PersonBusy); pc.Wait < 59*time.Minute {
		t.Errorf("held claim waits %s, want about an hour", pc.Wait)
	}

	// m2's reply reaches the person now: m1 (written before) is answered;
	// a message written after it is not.
	if err := l.PersonSent(ctx, page, psid, m2, "mid_2", time.Time{}, PersonTTL); err != nil {
		t.Fatal(err)
	}
	if pc := claim(m1, t0, PersonAnswered); pc.MessageID != "mid_2" {
		t.Errorf("answered by %q, want mid_2", pc.MessageID)
	}
	claim(m3, time.Now().Add(time.Minute), PersonClaimed)
	if ttl := l.rdb.PTTL(ctx, l.personKey(page, psid)).Val(); ttl > 11*time.Second {
		t.Errorf("claim's lease %s", ttl)
	}

	// A reply found by a doubt check is recorded at its own time.
	if err := l.PersonSent(ctx, page, psid, m3, "mid_3", t0.Add(30*time.Second), PersonTTL); err != nil {
		t.Fatal(err)
	}
	claim(m1, t0, PersonAnswered)
	claim(m2, t0.Add(40*time.Second), PersonClaimed)
	if err := l.PersonSent(ctx, page, psid, m2, "mid_2", time.Time{}, PersonTTL); err != nil {
		t.Fatal(err)
	}
	if ttl := l.rdb.PTTL(ctx, l.personKey(page, psid)).Val(); ttl < PersonTTL-time.Minute {
		t.Errorf("sent record kept %s, want about %s", ttl, PersonTTL)
	}
}
