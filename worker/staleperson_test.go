package worker_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestStaleAttemptLeavesPersonClaim: a conversation reply's attempt whose
// claim on its target ran out (a stalled process) before it claimed the
// person, while another worker's attempt took the target and claimed the
// person, must leave the person's claim to that attempt: it may be sending
// the target's reply right now, and a reply to the person's other message
// must wait for it. Before, the stale attempt took the person's claim over
// (the claim names the target, not the attempt), found the target lost at
// admission, put the reply back unsent and released the claim on its way
// out: the claim held nothing, and that reply could go out too, two replies
// to one person. Two guards now stop it, each enough for this test: the
// person's claim is refused to an attempt that does not hold its target
// (tasks.PersonClaim), and admission's put-back of a lost target keeps the
// person's claim.
func TestStaleAttemptLeavesPersonClaim(t *testing.T) {
	h, pages, ann, r1, r2 := annTwoMessages(t, "7001031")
	page := r1.PageID
	ctx := context.Background()
	who := tasks.Person{ID: ann.ID}
	entry := h.ledger.PageKey(page, "t:"+r1.Target.String())
	other := tasks.NewToken()
	staleAttempt(t, h, pages, r1, ann.ID, func() error {
		// Just before this attempt claims the person: its lease ran out, and
		// the other worker's attempt claimed the target, then the person.
		lease := "c|" + other + "|" + strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10)
		if err := h.db.Client.SetArgs(ctx, entry, lease, redis.SetArgs{KeepTTL: true}).Err(); err != nil {
			return err
		}
		pc, err := h.ledger.PersonClaim(ctx, page, who, r1.Target, other, time.UnixMilli(r1.Created), 24*time.Hour)
		if err == nil && pc.Outcome != tasks.PersonClaimed {
			err = fmt.Errorf("the other attempt's person claim: %+v", pc)
		}
		return err
	})
	// The reply to the person's other message, as its attempt would claim
	// the person while the other attempt holds r1's target.
	pc, err := h.ledger.PersonClaim(ctx, page, who, r2.Target, tasks.NewToken(), time.UnixMilli(r2.Created), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Outcome != tasks.PersonBusy {
		t.Errorf("the person's other reply may claim them (%+v) while another attempt holds r1's target and may be sending it", pc)
	}
}

// staleAttempt runs r's attempt on a worker whose ledger plays the live
// attempt's steps (live) just before this one claims the person (its lease
// ran out meanwhile), and checks that this attempt, stale, went back to the
// queue having sent nothing to person.
func staleAttempt(t *testing.T, h *harness, pages []config.Page, r tasks.Reply, person string, live func() error) {
	t.Helper()
	played := make(chan error, 1)
	hook := &failOnce{match: personClaimCall, first: func() { played <- live() }}
	ledger := hook.ledger(t, h)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Pages, p.Ledger = pages, ledger })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitPutBack(t, r, 10*time.Second, nil)
	select {
	case err := <-played:
		if err != nil {
			t.Fatalf("the live attempt's steps: %v", err)
		}
	default:
		t.Fatal("the reply was put back before it claimed the person")
	}
	if n := len(sendsTo(h, person)); n != 0 {
		t.Fatalf("the stale attempt sent %d replies", n)
	}
}
