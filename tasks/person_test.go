package tasks

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestPersonRecord walks a person's record through its states: a claim
// holding the person while its target's entry is claimed or in doubt however
// long that lasts (before, a doubt held for 10 minutes only, and a pause
// past them let a second reply go), and no longer once that target failed or
// was given back, or its claim or doubt is older than the window; another attempt of the same target taking the claim over,
// and a release that is not the claim's own attempt's doing nothing; a sent
// record answering the messages written before it and not those after it;
// and a commenter's record, answered by any reply within the window.
func TestPersonRecord(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	page, ann := "100", Person{ID: "7001"}
	m1, m2, m3 := messageTargets()
	t0 := time.Now().Add(-time.Minute)
	window := 24 * time.Hour
	claim := personClaimer(t, l, page, ann)
	entry := entrySetter(t, l, page)
	now := time.Now().UnixMilli()

	// m1's attempt claims its target and the person; m2's waits.
	entry(m1, "c|tok1|"+itoa(now+30000))
	claim(m1, "tok1", t0, PersonClaimed)
	if pc := claim(m2, "tok2", t0.Add(time.Second), PersonBusy); pc.InDoubt {
		t.Error("a send under way reported in doubt")
	}
	// m1's send lost its answer: in doubt, however long it takes, for a
	// message written before it could have landed (its settle time)...
	entry(m1, "u|"+itoa(now-3*3600*1000)+"|"+itoa(now))
	if pc := claim(m2, "tok2", t0.Add(time.Second), PersonBusy); !pc.InDoubt {
		t.Error("a send in doubt not reported so")
	}
	// ... and for a message whose time is unknown (a reply queued without
	// it), which may have been written before.
	if pc := claim(m2, "tok2", time.Time{}, PersonBusy); !pc.InDoubt {
		t.Error("a send in doubt not reported so to a message of unknown time")
	}
	// ... and not for one written after: if it landed, the person wrote
	// after it (the doubt's task gone for good held such a message for the
	// whole window).
	if pc, err := l.PersonClaim(ctx, page, ann, m3, "tok6", time.Now().Add(time.Second), window); err != nil || pc.Outcome != PersonClaimed {
		t.Fatalf("a message written after the doubtful send: %+v %v, want claimed", pc, err)
	}
	// m1's next attempt, holding its target, takes the claim back.
	entry(m1, "c|tok1|"+itoa(now+30000))
	claim(m1, "tok1", t0, PersonClaimed)
	// Another attempt of m1 takes the target and the claim over; the first
	// one's release then does nothing.
	entry(m1, "c|tok3|"+itoa(now+30000))
	claim(m1, "tok3", t0, PersonClaimed)
	if err := l.PersonRelease(ctx, page, ann, m1, "tok1"); err != nil {
		t.Fatal(err)
	}
	claim(m2, "tok2", t0.Add(time.Second), PersonBusy)
	// m1 failed for good: its claim holds nothing.
	entry(m1, "f|"+itoa(now)+"|permanent")
	claim(m2, "tok2", t0.Add(time.Second), PersonClaimed)
	if err := l.PersonRelease(ctx, page, ann, m2, "tok2"); err != nil {
		t.Fatal(err)
	}
	// A doubt older than the window holds nothing either.
	entry(m1, "c|tok4|"+itoa(now+30000))
	claim(m1, "tok4", t0, PersonClaimed)
	entry(m1, "u|"+itoa(now-25*3600*1000)+"|"+itoa(now))
	claim(m2, "tok2", t0.Add(time.Second), PersonClaimed)
	// Nor a claim whose lease ended longer ago than the window: its
	// attempt was abandoned (its worker killed, its task deleted), and the
	// claim must not hold the person for as long as its key lives.
	entry(m1, "c|tok11|"+itoa(now+30000))
	claim(m1, "tok11", t0, PersonClaimed)
	entry(m1, "c|tok11|"+itoa(now-window.Milliseconds()-time.Minute.Milliseconds()))
	claim(m2, "tok2", t0.Add(time.Second), PersonClaimed)

	// m2's reply reaches the person now: m1 (written before) is answered, a
	// message written after it is not, nor one whose time is unknown.
	if err := l.PersonSent(ctx, page, ann, m2, "mid_2", time.Time{}, PersonTTL); err != nil {
		t.Fatal(err)
	}
	if pc := claim(m1, "tok5", t0, PersonAnswered); pc.MessageID != "mid_2" {
		t.Errorf("answered by %q, want mid_2", pc.MessageID)
	}
	claim(m3, "tok6", time.Time{}, PersonClaimed)
	if err := l.PersonSent(ctx, page, ann, m3, "mid_3", t0.Add(30*time.Second), PersonTTL); err != nil {
		t.Fatal(err)
	}
	// m3's reply landed before m2's (a doubt settled late, with the time
	// Graph gives the Page's message): the record keeps m2's, the later, so
	// a message written between the two is answered by it.
	if pc := claim(Target{Kind: KindMessage, ID: "m_4"}, "tok10", t0.Add(35*time.Second), PersonAnswered); pc.MessageID != "mid_2" {
		t.Errorf("a message written between the two replies answered by %q, want the later mid_2", pc.MessageID)
	}
	claim(m1, "tok5", t0, PersonAnswered)
	claim(m2, "tok7", t0.Add(40*time.Second), PersonClaimed)
	// m2's attempt sends nothing and lets go: m1 is still answered by m3's
	// reply (before, the claim had overwritten the record of the last
	// reply, and its release deleted it: m1's reply then went out).
	if err := l.PersonRelease(ctx, page, ann, m2, "tok7"); err != nil {
		t.Fatal(err)
	}
	claim(m1, "tok5", t0, PersonAnswered)
	claim(m2, "tok7", t0.Add(40*time.Second), PersonClaimed)
	// A claim whose target's entry is sent (its PersonSent lost) answers
	// what was written before.
	if err := l.rdb.Del(ctx, l.personKey(page, ann)+":s").Err(); err != nil {
		t.Fatal(err)
	}
	entry(m2, "s|"+itoa(now)+"|mid_2b")
	entry(m1, "c|tok5|"+itoa(now+30000)) // m1's attempt holds its target
	if pc := claim(m1, "tok5", t0, PersonAnswered); pc.MessageID != "mid_2b" {
		t.Errorf("answered by %q, want the claim's sent target mid_2b", pc.MessageID)
	}
	if err := l.PersonSent(ctx, page, ann, m2, "mid_2", time.Time{}, PersonTTL); err != nil {
		t.Fatal(err)
	}
	if ttl := l.rdb.PTTL(ctx, l.personKey(page, ann)+":s").Val(); ttl < PersonTTL-time.Minute {
		t.Errorf("sent record kept %s, want about %s", ttl, PersonTTL)
	}

	// A commenter: any reply within the window answers the others.
	ben := Person{ID: "7002", Commenter: true}
	c1, c2 := Target{Kind: KindComment, ID: "1_1"}, Target{Kind: KindComment, ID: "1_2"}
	if pc, err := l.PersonClaim(ctx, page, ben, c1, "tok8", time.Time{}, window); err != nil || pc.Outcome != PersonClaimed {
		t.Fatalf("commenter claim: %+v %v", pc, err)
	}
	// c1's send lost its answer: the commenter's other comments wait (a
	// commenter's time does not count: held for an hour at most).
	entry(c1, "u|"+itoa(now))
	if pc, err := l.PersonClaim(ctx, page, ben, c2, "tok9", time.Now(), window); err != nil || pc.Outcome != PersonBusy || !pc.InDoubt {
		t.Fatalf("commenter's second comment while the first reply is in doubt: %+v %v, want busy in doubt", pc, err)
	}
	if err := l.PersonSent(ctx, page, ben, c1, "mid_c1", time.Time{}, window); err != nil {
		t.Fatal(err)
	}
	if pc, err := l.PersonClaim(ctx, page, ben, c2, "tok9", time.Now(), window); err != nil || pc.Outcome != PersonAnswered {
		t.Fatalf("commenter's second comment: %+v %v, want answered", pc, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestPersonSentEndsClaim: a reply recorded for the person ends its claim on
// them, so what the person wrote after it landed is judged by the record's
// time, not by the target's mark. A doubt settled late records the reply
// with Graph's time of the Page's message, minutes before the target is
// marked sent: a message written in between deserves its own reply. Left in
// place (personSentScript not deleting the claim), the claim's sent target
// answered it, with the mark's time, and the message was never answered.
func TestPersonSentEndsClaim(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	page, ann := "100", Person{ID: "7003"}
	m1, m2, m3 := messageTargets()
	landed := time.Now().Add(-2 * time.Minute)
	claim := personClaimer(t, l, page, ann)
	// m1's attempt claimed the person; its answer was lost, and its next
	// attempt finds the reply in the conversation, landed 2 minutes ago:
	// recorded for the person with that time, then the target marked sent.
	entrySetter(t, l, page)(m1, "c|tok1|"+itoa(time.Now().UnixMilli()+30000))
	claim(m1, "tok1", landed.Add(-time.Minute), PersonClaimed)
	if err := l.PersonSent(ctx, page, ann, m1, "mid_1", landed, PersonTTL); err != nil {
		t.Fatal(err)
	}
	if err := l.MarkSent(ctx, page, m1, "mid_1"); err != nil {
		t.Fatal(err)
	}
	// The person wrote m2 a minute after the reply landed: its own reply.
	claim(m2, "tok2", landed.Add(time.Minute), PersonClaimed)
	// m3, written before the reply landed, is answered by it.
	if pc := claim(m3, "tok3", landed.Add(-30*time.Second), PersonAnswered); pc.MessageID != "mid_1" {
		t.Errorf("answered by %q, want mid_1", pc.MessageID)
	}
}

// TestPersonClaimOnlyByTargetsHolder: an attempt whose target is claimed by
// another attempt in the ledger, or in doubt after that attempt's send (its
// own claim lapsed while it stalled), is told the person is busy and claims
// nothing. Before, it took over the
// claim the target's live attempt held (a person's claim names the target,
// not the attempt) and released it on its way out, which let a reply to the
// person's other message go out beside the live attempt's send.
func TestPersonClaimOnlyByTargetsHolder(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	page, ann := "100", Person{ID: "7004"}
	m1, m2, _ := messageTargets()
	created := time.Now().Add(-time.Minute)
	window := 24 * time.Hour
	key := l.personKey(page, ann)
	claimAs := personClaimer(t, l, page, ann)
	claim := func(tg Target, token string, want PersonOutcome) { t.Helper(); claimAs(tg, token, created, want) }
	holder := func(want string) {
		t.Helper()
		v, err := l.rdb.Get(ctx, key).Result()
		if want == "" && err == redis.Nil {
			return
		}
		if err != nil || v != want {
			t.Fatalf("person's claim %q %v, want %q", v, err, want)
		}
	}
	entrySetter(t, l, page)(m1, "c|live|"+itoa(time.Now().UnixMilli()+30000))
	// The stale attempt first, before the live one claimed the person:
	// nothing claimed.
	claim(m1, "stale", PersonBusy)
	holder("")
	// The live attempt claims the person; the stale one cannot take it over
	// (the prefix of a token is not the token), so its release, a release
	// by the stale attempt's token, leaves the live claim in place.
	claim(m1, "live", PersonClaimed)
	claim(m1, "stale", PersonBusy)
	claim(m1, "liv", PersonBusy)
	if err := l.PersonRelease(ctx, page, ann, m1, "stale"); err != nil {
		t.Fatal(err)
	}
	holder("c|live|" + m1.String())
	claim(m2, "other", PersonBusy)
	// The live attempt's own claim again (a rerun of its step) is its own.
	claim(m1, "live", PersonClaimed)
	// The live attempt's answer was lost: its claim holds the person while
	// the target is in doubt, and the stale attempt still cannot take it.
	entrySetter(t, l, page)(m1, "u|"+itoa(time.Now().UnixMilli()))
	claim(m1, "stale", PersonBusy)
	holder("c|live|" + m1.String())
	if pc, err := l.PersonClaim(ctx, page, ann, m2, "other", created, window); err != nil || pc.Outcome != PersonBusy || !pc.InDoubt {
		t.Fatalf("the person's other message while m1 is in doubt: %+v %v, want busy in doubt", pc, err)
	}
	// A target without an entry is left to the send's last gate: another
	// attempt of it takes the claim over, as before.
	if err := l.rdb.Del(ctx, l.entryKey(page, m1)).Err(); err != nil {
		t.Fatal(err)
	}
	claim(m1, "next", PersonClaimed)
	holder("c|next|" + m1.String())
}

// TestPersonGapRecord: a person's first reply is booked at once, for its
// send slot; the next is told how long until that slot plus the gap, books
// nothing, and is booked once that time has come. Another person, or the
// same id on another Page, is not held. The record is the Page's key
// "{page}:pg:<id>" (the Page's Cluster slot), gone once it holds no one.
func TestPersonGapRecord(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	const gap = 400 * time.Millisecond
	n := 0
	book := func(page, id string, slot time.Duration) time.Duration {
		t.Helper()
		n++ // each a reply of its own
		wait, err := l.PersonGap(ctx, page, id, Target{Kind: KindComment, ID: "c" + itoa(int64(n))}, slot, gap)
		if err != nil {
			t.Fatal(err)
		}
		return wait
	}
	if w := book("100", "7001", 100*time.Millisecond); w != 0 {
		t.Fatalf("first reply to the person: wait %s, want booked", w)
	}
	key := l.pageKey("100", "pg:7001")
	if !strings.HasSuffix(key, "{100}:pg:7001") {
		t.Errorf("record key %q, want the Page's hash tag", key)
	}
	if pttl, err := l.rdb.PTTL(ctx, key).Result(); err != nil || pttl <= 0 || pttl > 500*time.Millisecond {
		t.Errorf("record %s: PTTL %s %v, want the slot plus the gap", key, pttl, err)
	}
	// The next is due 500ms from the first booking: its slot, 50ms away,
	// is too early.
	w := book("100", "7001", 50*time.Millisecond)
	if w <= 0 || w > 500*time.Millisecond {
		t.Errorf("second reply to the person: wait %s, want up to 500ms", w)
	}
	// The reply that holds the booking, back after an attempt that sent
	// nothing, books again at once: before, it waited out its own gap.
	if w, err := l.PersonGap(ctx, "100", "7001", Target{Kind: KindComment, ID: "c1"}, 0, gap); err != nil || w != 0 {
		t.Errorf("the booking's own reply again: wait %s (%v), want booked", w, err)
	}
	if w := book("100", "7002", 0); w != 0 {
		t.Errorf("another person: wait %s, want booked", w)
	}
	if w := book("200", "7001", 0); w != 0 {
		t.Errorf("the same id on another Page: wait %s, want booked", w)
	}
	// A slot past the gap is booked at once.
	if w := book("100", "7001", 600*time.Millisecond); w != 0 {
		t.Errorf("a slot past the gap: wait %s, want booked", w)
	}
	// A booking whose send slot is far off is kept until that slot plus the
	// gap, not for the gap alone: gone earlier, the person's next reply
	// would be booked before the first one is even sent.
	if w := book("100", "7005", 2*time.Second); w != 0 {
		t.Errorf("first reply to another person: wait %s, want booked", w)
	}
	if pttl, err := l.rdb.PTTL(ctx, l.pageKey("100", "pg:7005")).Result(); err != nil || pttl <= gap {
		t.Errorf("record of a booking 2s ahead: PTTL %s %v, want the slot plus the gap (2.4s)", pttl, err)
	}
	// A gap of 0 books nothing.
	if w, err := l.PersonGap(ctx, "100", "7003", Target{Kind: KindComment, ID: "c0"}, 0, 0); err != nil || w != 0 {
		t.Errorf("gap 0: %s %v", w, err)
	}
	if n, _ := l.rdb.Exists(ctx, l.pageKey("100", "pg:7003")).Result(); n != 0 {
		t.Error("gap 0 kept a record")
	}
	time.Sleep(1300 * time.Millisecond)
	if n, _ := l.rdb.Exists(ctx, key).Result(); n != 0 {
		t.Error("the record outlived the gap")
	}
}

// messageTargets returns the conversation messages m_1, m_2 and m_3.
func messageTargets() (m1, m2, m3 Target) {
	return Target{Kind: KindMessage, ID: "m_1"}, Target{Kind: KindMessage, ID: "m_2"}, Target{Kind: KindMessage, ID: "m_3"}
}
