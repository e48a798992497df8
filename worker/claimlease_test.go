package worker_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestNoSendAfterClaimLost: a reply that waits for its send slot after its
// reservation can outlive its claim's lease, and another attempt of the same
// task may then have claimed and settled the target. The send must not go
// out: admission checks that the claim is still the waiting reply's own.
func TestNoSendAfterClaimLost(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 61})
	r := waitingAtAdmission(t, h)
	page := r.PageID
	h.startWorker(t, 2)
	ctx := context.Background()
	waitClaimed(t, h, r)
	// Meanwhile another attempt took the target over and sent the reply.
	if err := h.ledger.MarkSent(ctx, page, r.Target, "m_other_attempt"); err != nil {
		t.Fatal(err)
	}

	waitRepliesSettled(t, h)
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Fatalf("the waiting reply sent %d times after another attempt had settled its target, want 0", n)
	}
	if e, _ := h.ledger.Get(ctx, page, r.Target); e.Status != tasks.StatusSent || e.MessageID != "m_other_attempt" {
		t.Fatalf("entry %+v, want the other attempt's send kept", e)
	}
}

// TestLapsedClaimRenewalReplicated: a reply whose claim is renewed at
// admission must have that renewal on a replica before the send when the
// renewal is the only current record of the claim: with the replica frozen
// the reply is put back unsent, and once the replica answers it is sent once.
// So it is when the claim's lease ran out while the reply waited, with no
// other attempt taking it over (lapsed), and when the renewal moved the lease
// more than a second past the one the replica holds (extended: the reply
// waited 2 s for its send slot): after a failover the replica's older lease
// would end before the send's outcome is known, and another attempt could
// claim the target and send again.
func TestLapsedClaimRenewalReplicated(t *testing.T) {
	t.Parallel() // each waits out a put-back with a replica frozen
	for _, tc := range []struct {
		name  string
		lapse bool
	}{
		{"lapsed", true},
		{"extended", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			master, replica := startReplicated(t)
			h := newHarnessOn(t, sandbox.Options{Pages: 1, Seed: 67}, &redistest.DB{Addr: master.Addr(), Client: master.Client()})
			r := waitingAtAdmission(t, h)
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.ClaimReplicas, p.ClaimReplicaTimeout = 1, 200*time.Millisecond })
			ctx := context.Background()
			entry := h.ledger.PageKey(r.PageID, "t:"+r.Target.String())
			v := waitClaimed(t, h, r)
			if tc.lapse {
				// The lease runs out while the reply waits.
				tok := strings.Split(v, "|")[1]
				lapsed := "c|" + tok + "|" + strconv.FormatInt(time.Now().Add(-time.Second).UnixMilli(), 10)
				if err := h.db.Client.SetArgs(ctx, entry, lapsed, redis.SetArgs{KeepTTL: true}).Err(); err != nil {
					t.Fatal(err)
				}
			} else {
				// The reservation's claim reached the replica (and its ack
				// is done: the reply waits at admission for 2 s).
				for deadline := time.Now().Add(2 * time.Second); replica.Client().Get(ctx, entry).Val() != v; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the reservation's claim never reached the replica")
					}
				}
				time.Sleep(300 * time.Millisecond)
			}
			// The replica stops answering.
			resume := freeze(t, replica)
			h.waitPutBack(t, r, 20*time.Second, func() {
				if h.sb.SendCount(r.Target.ID) > 0 {
					t.Fatal("the reply was sent under a renewed claim no replica had")
				}
			})
			if n := h.sb.SendCount(r.Target.ID); n != 0 {
				t.Fatalf("the reply was sent %d times under a renewed claim no replica had", n)
			}
			resume()
			h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
			h.checkExactlyOnce(t, []tasks.Reply{r})
		})
	}
}

// waitingAtAdmission enqueues a reply on the harness's first Page, set to
// 5/s, whose send log is full for the next 2 s: the reply claims its target,
// then waits at admission.
func waitingAtAdmission(t *testing.T, h *harness) tasks.Reply {
	t.Helper()
	page := h.pages[0].ID
	h.pages[0].Rate = config.Rate{N: 5, Per: time.Second}
	r := h.addComments(page, 1, "Hello")[0]
	ctx := context.Background()
	due := float64(time.Now().Add(2 * time.Second).UnixMicro())
	for i := range 20 {
		h.db.Client.ZAdd(ctx, h.ledger.PageKey(page, "sends"), redis.Z{Score: due, Member: "other-" + strconv.Itoa(i)})
	}
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	return r
}

// waitClaimed waits until r's target is claimed and returns its ledger entry.
func waitClaimed(t *testing.T, h *harness, r tasks.Reply) string {
	t.Helper()
	entry := h.ledger.PageKey(r.PageID, "t:"+r.Target.String())
	deadline := time.Now().Add(10 * time.Second)
	for {
		v := h.db.Client.Get(context.Background(), entry).Val()
		if strings.HasPrefix(v, "c|") {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply never claimed its target: %q", v)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitRepliesSettled waits up to 30 s until the replies queue holds no task
// pending, running, scheduled or to retry.
func waitRepliesSettled(t *testing.T, h *harness) {
	t.Helper()
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		q, err := insp.GetQueueInfo(tasks.QueueReplies)
		if err == nil && q.Pending+q.Active+q.Scheduled+q.Retry == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply task not settled: %+v %v", q, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
