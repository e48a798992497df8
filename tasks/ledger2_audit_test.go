package tasks

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
)

// TestLedgerOutlivesReplyWindow: a target's entry is kept longer than the
// longest reply window a Page may have (config.MaxReplyWindow): an entry
// forgotten inside it lets a later poll queue the target again and send a
// second reply.
func TestLedgerOutlivesReplyWindow(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	tg := Target{Kind: KindComment, ID: "w"}
	mustGo(t, l, page, tg, "a", time.Minute)
	if err := l.MarkSent(ctx, page, tg, "m_1"); err != nil {
		t.Fatal(err)
	}
	if ttl := l.rdb.PTTL(ctx, l.entryKey(page, tg)).Val(); ttl <= config.MaxReplyWindow {
		t.Fatalf("sent entry kept %s, want longer than the reply window %s", ttl, config.MaxReplyWindow)
	}
}

// TestClaimEndingSoonIsBusy: a claim whose lease has under a second left is
// still its holder's: the holder may be sending now, and another attempt
// that took it over would send a second reply.
func TestClaimEndingSoonIsBusy(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	tg := Target{Kind: KindComment, ID: "soon"}
	start := time.Now()
	mustGo(t, l, page, tg, "a", 700*time.Millisecond)
	r, err := l.Reserve(ctx, page, tg, "b", time.Minute, Limit{})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 600*time.Millisecond {
		t.Skip("the machine stalled: the lease may have run out before the second reservation")
	}
	if r.Outcome != ReserveBusy {
		t.Fatalf("reserve of a claim with under a second of lease left = %+v, want busy", r)
	}
}

// TestReturnedSlotScheduleKept: after a send slot is given back, the Page's
// schedule is kept until its last booked slot, not for a second: forgotten,
// the next reservations would be booked at once beside the replies still
// waiting for their slots (the Page sent over its rate).
func TestReturnedSlotScheduleKept(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "1"
	lim := Limit{Interval: 10 * time.Second, MaxWait: time.Hour}
	for i := range 3 { // slots at 0, 10 and 20 s
		if r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: "a" + strconv.Itoa(i)}, "t", time.Minute, lim); err != nil || r.Outcome != ReserveGo {
			t.Fatalf("reserve %d: %+v %v", i, r, err)
		}
	}
	if err := l.ReturnSendSlot(ctx, page, lim); err != nil {
		t.Fatal(err)
	}
	// The schedule's next free slot is 20 s ahead: its record must last that long.
	if ttl := l.rdb.PTTL(ctx, l.keys(page).rate).Val(); ttl < 15*time.Second {
		t.Fatalf("schedule kept %s after a slot was given back, want until its next free slot (~20s)", ttl)
	}
}

// TestReserveMergesOnlyOneLease: batched reservations of one Page with
// different claim leases are not merged into one script call, whose one
// lease would be the other caller's: a claim that ends before its send's
// outcome is known lets another attempt take the target and send again.
func TestReserveMergesOnlyOneLease(t *testing.T) {
	db := redistest.New(t)
	l, ctx := newBatchedLedger(t, db.Client, LedgerOptions{Linger: time.Hour, FlushAt: 2})
	const page = "100"
	leases := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour}
	var wg sync.WaitGroup
	for id, lease := range leases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := l.Reserve(ctx, page, Target{Kind: KindComment, ID: id}, "tok", lease, Limit{}); err != nil || r.Outcome != ReserveGo {
				t.Errorf("reserve %s: %+v %v", id, r, err)
			}
		}()
	}
	wg.Wait()
	if st := l.BatchStats(); st.Pipelines != 1 || st.Calls != 2 {
		t.Fatalf("batch stats %+v, want the two calls in one pipeline", st)
	}
	for id, lease := range leases {
		e, err := l.Get(ctx, page, Target{Kind: KindComment, ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if left := time.Until(e.At); e.Status != StatusClaimed || left < lease-time.Minute/2 || left > lease {
			t.Errorf("claim of %s: %+v (%s left), want its own lease of %s", id, e, left, lease)
		}
	}
}

// TestPauseTokenKeptAsLongAsThePause: the token fingerprint a page_broken
// pause keeps beside it goes when the pause does, not never.
func TestPauseTokenKeptAsLongAsThePause(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	l := NewLedger(db.Client, LedgerOptions{PageTokens: map[string]string{"1": "token"}})
	if _, err := l.Pause(ctx, "1", time.Hour, PausePageBroken+": (#190) token expired"); err != nil {
		t.Fatal(err)
	}
	if ttl := db.Client.PTTL(ctx, l.pageKey("1", "pause_token")).Val(); ttl <= 0 || ttl > time.Hour {
		t.Fatalf("pause token kept %s, want the pause's hour", ttl)
	}
}

// TestEntryDone: a target sent or failed for good needs no more replies (the
// intake skips it); one claimed, in doubt or unknown to the ledger does.
func TestEntryDone(t *testing.T) {
	for st, want := range map[Status]bool{StatusNone: false, StatusClaimed: false, StatusUnknown: false, StatusSent: true, StatusFailed: true} {
		if got := (Entry{Status: st}).Done(); got != want {
			t.Errorf("%s entry Done = %v, want %v", st, got, want)
		}
	}
}
