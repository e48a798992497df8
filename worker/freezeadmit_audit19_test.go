package worker_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// freezeAfterAdmit is a go-redis hook that holds up, once, the answer of the
// admission script (Ledger.Admit: its keys hold the Page's send log, sends)
// after Redis ran it: what a worker frozen (SIGSTOP, a VM paused, a long
// stop-the-world) with that answer in its socket sees when it runs again.
// frozen is closed once the answer is held, thaw lets it through.
type freezeAfterAdmit struct {
	sends  string
	once   sync.Once
	frozen chan struct{}
	thaw   chan struct{}
}

func (*freezeAfterAdmit) DialHook(next redis.DialHook) redis.DialHook { return next }

func (*freezeAfterAdmit) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (f *freezeAfterAdmit) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil || !strings.HasPrefix(cmd.Name(), "eval") {
			return err
		}
		for _, a := range cmd.Args() {
			if s, ok := a.(string); ok && s == f.sends {
				f.once.Do(func() {
					close(f.frozen)
					<-f.thaw
				})
				break
			}
		}
		return err
	}
}

// TestFrozenAfterAdmissionSendsNot_audit19: a worker frozen between the
// admission of a conversation reply (which renews its claim) and the send,
// for longer than the claim's lease, while asynq hands the task to another
// worker (it re-runs a task whose worker stopped renewing asynq's own
// lease): that attempt finds the claim lapsed, asks Graph (nothing yet),
// sends and records the reply. The frozen worker, run again, must not send
// a second Messenger message (Messenger refuses nothing twice, unlike a
// comment's 10900): a send that would leave long after its admission is
// admitted again first, finds the claim taken, and is put back; its rerun
// finds the reply sent.
func TestFrozenAfterAdmissionSendsNot_audit19(t *testing.T) {
	t.Parallel() // waits out a claim's lease (2 × graph timeout + 5 s)
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 20, Seed: 1901})
	page := h.pages[0].ID
	r := h.conversationReplies(page, "Thanks for your message!")[0]
	ctx := context.Background()

	rdb := tasks.NewRedisClient(asynq.RedisClientOpt{Addr: h.db.Addr, DB: h.db.DB})
	f := &freezeAfterAdmit{sends: h.ledger.PageKey(page, "sends"), frozen: make(chan struct{}), thaw: make(chan struct{})}
	rdb.AddHook(f)
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true})
	var thawOnce sync.Once
	thaw := func() { thawOnce.Do(func() { close(f.thaw) }) }
	t.Cleanup(func() { thaw(); ledger.Close(); _ = rdb.Close() })
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger = ledger })
	h.enqueueAll(t, []tasks.Reply{r})
	waitClosed(t, f.frozen, "the reply was never admitted")

	// Frozen past the claim's lease, by Redis's clock.
	entry := h.ledger.PageKey(page, "t:"+r.Target.String())
	for deadline := time.Now().Add(30 * time.Second); ; {
		v := h.db.Client.Get(ctx, entry).Val()
		parts := strings.Split(v, "|")
		until, _ := strconv.ParseInt(parts[len(parts)-1], 10, 64)
		now, err := h.db.Client.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if parts[0] != "c" {
			t.Fatalf("entry %q while the worker is frozen, want its claim", v)
		}
		if until < now.UnixMilli() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("claim %q never lapsed", v)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The other attempt: the lapsed claim is doubtful, Graph's conversation
	// holds no reply yet, so it sends and records it.
	res, err := h.ledger.Reserve(ctx, page, r.Target, "other-attempt", 9*time.Second, tasks.Limit{})
	if err != nil || res.Outcome != tasks.ReserveGo || !res.Doubtful {
		t.Fatalf("the other attempt's reservation: %+v %v, want go, doubtful", res, err)
	}
	g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
	sent, err := g.SendMessage(ctx, h.pages[0].AccessToken, page, r.PSID, r.Text)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.ledger.MarkSent(ctx, page, r.Target, sent.MessageID); err != nil {
		t.Fatal(err)
	}

	thaw()
	waitRepliesSettled(t, h)
	if got := sendsTo(h, r.PSID); len(got) != 1 {
		t.Fatalf("the person got %d messages, want 1 (the frozen worker sent after its claim was taken over): %q", len(got), got)
	}
	if e, _ := h.ledger.Get(ctx, page, r.Target); e.Status != tasks.StatusSent || e.MessageID != sent.MessageID {
		t.Fatalf("entry %+v, want the other attempt's send kept", e)
	}
}
