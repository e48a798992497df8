package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// convPauseWatchGraph counts the conversation reads made while the Page is
// paused in the ledger.
type convPauseWatchGraph struct {
	worker.Graph
	ledger      *tasks.Ledger
	page        string
	reads       atomic.Int32
	whilePaused atomic.Int32
}

func (g *convPauseWatchGraph) Conversation(ctx context.Context, token, id string) (graph.Conversation, error) {
	g.reads.Add(1)
	if d, _, _ := g.ledger.Paused(context.Background(), g.page); d > 0 {
		g.whilePaused.Add(1)
	}
	return g.Graph.Conversation(ctx, token, id)
}

// TestDoubtReadSlotWaitHonoursPause: a doubtful conversation reply's check
// takes a conversation read slot about 1.5 s ahead and waits for it; the
// Page is paused meanwhile. The read must not go out during the pause (Meta
// lengthens a block that is ignored): the reply goes back to the queue, its
// doubt kept, and after the pause it is checked and sent once.
func TestDoubtReadSlotWaitHonoursPause(t *testing.T) {
	h, r := lostAnswerReply(t)
	ctx := context.Background()
	page := r.PageID
	lim := worker.ConversationReadLimit(&h.pages[0])
	for range 3 {
		if _, err := h.ledger.TakeReadKey(ctx, page, "reads:conversations", lim); err != nil {
			t.Fatal(err)
		}
	}
	key := h.ledger.PageKey(page, "reads:conversations")
	booked, err := h.db.Client.Get(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	g := &convPauseWatchGraph{ledger: h.ledger, page: page}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		g.Graph = p.Graph
		p.Graph = g
	})
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	// The reply books its read slot (the schedule moves on), then waits.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		v, err := h.db.Client.Get(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if v != booked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the doubt check took no conversation read slot")
		}
	}
	if n := g.reads.Load(); n != 0 {
		t.Fatalf("the conversation was read %d times before the booked slot", n)
	}
	if _, err := h.ledger.Pause(ctx, page, 3*time.Second, tasks.PauseThrottled+": (#32) Page request limit reached"); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := g.whilePaused.Load(); n > 0 {
		t.Errorf("%d conversation reads while the Page was paused", n)
	}
	if n := g.reads.Load(); n == 0 {
		t.Error("the doubtful reply was sent without reading the conversation")
	}
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("%s got %d messages, want 1", r.PSID, n)
	}
}

// TestPersonBusyPutBackKeepsDoubtAndSlot: a doubtful comment reply on a Page
// that sends one reply per person is checked (nothing found) and then finds
// its person busy with another reply. It goes back to the queue with its
// doubt kept (the entry unknown, not released: the check may not see every
// earlier reply, and the entry holds the person meanwhile) and its send slot
// given back (the Page's rate schedule not left a slot ahead for a reply
// that sent nothing). Once the other reply is done, it is sent once.
func TestPersonBusyPutBackKeepsDoubtAndSlot(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 131})
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 1, Per: time.Second}, 1
	h.pages[0].OneReplyPerPerson = true
	page := h.pages[0].ID
	ctx := context.Background()
	rs := h.addComments(page, 2, "Thanks!")
	for i := range rs {
		rs[i].Person = "7100001"
	}
	r, other := rs[0], rs[1]
	// The other comment's reply is on its way: its target claimed, the
	// person claimed for it.
	tok := tasks.NewToken()
	if res, err := h.ledger.Reserve(ctx, page, other.Target, tok, time.Minute, tasks.Limit{}); err != nil || res.Outcome != tasks.ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	who := tasks.Person{ID: other.Person, Commenter: true}
	if pc, err := h.ledger.PersonClaim(ctx, page, who, other.Target, tok, time.Time{}, time.Hour); err != nil || pc.Outcome != tasks.PersonClaimed {
		t.Fatalf("person claim: %+v %v", pc, err)
	}
	h.lostAnswer(t, r)
	h.startWorker(t, 2)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitPutBack(t, r, 10*time.Second, nil)
	tat, _ := h.db.Client.Get(ctx, h.ledger.PageKey(page, "rate")).Int64()
	if ahead := time.Duration(tat-time.Now().UnixMicro()) * time.Microsecond; ahead > 500*time.Millisecond {
		t.Errorf("the Page's send schedule is %s ahead after a reply went back unsent for a busy person", ahead)
	}
	if e, err := h.ledger.Get(ctx, page, r.Target); err != nil || e.Status != tasks.StatusUnknown {
		t.Errorf("entry %+v %v after the busy person's put-back, want unknown (the doubt kept)", e, err)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Fatalf("%d sends while the person was busy", n)
	}
	// The other reply ends having sent nothing.
	if err := h.ledger.PersonRelease(ctx, page, who, other.Target, tok); err != nil {
		t.Fatal(err)
	}
	if err := h.ledger.Release(ctx, page, other.Target, tok); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := h.sb.SendCount(r.Target.ID); n != 1 {
		t.Errorf("%d sends to %s, want 1", n, r.Target)
	}
}

// throttledOnceGraph answers the first call of one kind with a definite
// throttle (Graph's code 32, a 400 with a regain time of a second): nothing
// was done. Later calls go to the sandbox.
type throttledOnceGraph struct {
	worker.Graph
	convs, sends atomic.Int32
}

// startThrottledOnce starts a worker of two slots on h whose Graph is a
// throttledOnceGraph, and returns it.
func (h *harness) startThrottledOnce(t *testing.T) *throttledOnceGraph {
	t.Helper()
	g := &throttledOnceGraph{}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		g.Graph = p.Graph
		p.Graph = g
	})
	return g
}

func pageThrottle(endpoint string) error {
	return &graph.Error{HTTPStatus: 400, Code: 32, Type: "OAuthException", Message: "(#32) Page request limit reached",
		Class: graph.ClassThrottled, RetryAfter: time.Second, Endpoint: endpoint}
}

func (g *throttledOnceGraph) Conversation(ctx context.Context, token, id string) (graph.Conversation, error) {
	if g.convs.Add(1) == 1 {
		return graph.Conversation{}, pageThrottle("object")
	}
	return g.Graph.Conversation(ctx, token, id)
}

func (g *throttledOnceGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	if g.sends.Add(1) == 1 {
		return graph.SendResult{}, pageThrottle("messages")
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestThrottledCheckKeepsDoubt: a conversation reply whose earlier attempt
// landed (its answer lost) is checked, and the check's read is refused as
// throttled, a definite answer about the read. The Page is paused, and the
// doubt must outlive the put-back: released, the next attempt would send
// without reading the conversation, and Messenger refuses no second message.
// After the pause the check finds the earlier message: recorded as sent,
// nothing sent again.
func TestThrottledCheckKeepsDoubt(t *testing.T) {
	h, r := lostAnswerReply(t)
	ctx := context.Background()
	if h.sb.AddPageMessage(r.PageID, r.PSID, r.Text, time.Now()) == "" {
		t.Fatal("no conversation to add the Page's message to")
	}
	g := h.startThrottledOnce(t)
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := g.convs.Load(); n < 2 {
		t.Errorf("%d conversation reads, want the throttled one and the check after the pause", n)
	}
	if n := h.sb.SendCount(r.PSID); n != 0 {
		t.Errorf("%s got %d more messages after the earlier attempt's, want 0", r.PSID, n)
	}
}

// TestThrottledSendUsesNoRetry: a send refused as throttled pauses the Page,
// and the reply goes back to the queue until the pause ends without using
// one of its retries (SPEC counts a throttle as a pause, not a failure; a
// Page throttled again and again must not archive its replies). It is then
// sent once.
func TestThrottledSendUsesNoRetry(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 137})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.startThrottledOnce(t)
	h.enqueueAll(t, []tasks.Reply{r})
	ti := h.waitTask(t, r, 10*time.Second, nil, asynq.TaskStateRetry, asynq.TaskStateScheduled)
	if ti.Retried != 0 {
		t.Errorf("the throttled reply's put-back used %d retries, want 0 (last error %q)", ti.Retried, ti.LastErr)
	}
	if d, _, err := h.ledger.Paused(context.Background(), r.PageID); err != nil || d == 0 {
		t.Errorf("the Page is not paused after a throttled send (%v)", err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := h.sb.SendCount(r.Target.ID); n != 1 {
		t.Errorf("%d sends to %s, want 1", n, r.Target)
	}
}

// slowSendGraph delays each private reply send.
type slowSendGraph struct {
	worker.Graph
	delay time.Duration
}

func (g slowSendGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	time.Sleep(g.delay)
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestRepliesOnLastRunPassTheShare: a reply whose retry count is at asynq's
// max (queued by an older pagereply, or run again from the archive) is
// archived by asynq whatever it returns but nil, a put-back included. So
// when its Page's replies hold their share of the worker's slots, it is let
// in rather than put back, which would archive it unsent. Here 12 replies
// of one Page whose sends take 1.5 s, every one on its last run, share 4
// slots (a share of 3): none is archived, each is sent once.
func TestRepliesOnLastRunPassTheShare(t *testing.T) {
	t.Parallel() // mostly waits
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 4547})
	rs := h.addComments(h.pages[0].ID, 12, "Thanks!")
	ctx := context.Background()
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.enq.Client.EnqueueContext(ctx, asynq.NewTask(tasks.TypeReply, b), asynq.TaskID(r.Target.String()),
			asynq.Queue(tasks.QueueReplies), asynq.MaxRetry(0), asynq.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Graph = slowSendGraph{Graph: p.Graph, delay: 1500 * time.Millisecond} })
	h.waitSent(t, rs, 60*time.Second)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if archived, err := insp.ListArchivedTasks(tasks.QueueReplies); err != nil && err != asynq.ErrQueueNotFound {
		t.Fatal(err)
	} else if len(archived) > 0 {
		t.Errorf("%d replies on their last run archived, e.g. %s: %s", len(archived), archived[0].ID, archived[0].LastErr)
	}
	h.checkExactlyOnce(t, rs)
}

// plainErrGraph delivers the first conversation reply through the sandbox
// and then fails the call with an error that is not Graph's answer (no
// *graph.Error: a wrapper or transport of its own). Later calls go to the
// sandbox.
type plainErrGraph struct {
	worker.Graph
	sends atomic.Int32
}

func (g *plainErrGraph) SendMessage(ctx context.Context, token, pageID, psid, text string) (graph.SendResult, error) {
	res, err := g.Graph.SendMessage(ctx, token, pageID, psid, text)
	if g.sends.Add(1) == 1 && err == nil {
		return graph.SendResult{}, errors.New("read tcp 127.0.0.1:50312->127.0.0.1:443: connection reset by peer")
	}
	return res, err
}

// TestUnclassedSendErrorKeepsDoubt: a send that fails with an error that is
// not Graph's own answer says nothing of what Graph did: the outcome is
// unknown, and the next attempt reads the conversation before sending again
// (the delivered message is found; the person gets one message).
func TestUnclassedSendErrorKeepsDoubt(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Conversations: 20, Seed: 139})
	r := h.conversationReplies(h.pages[0].ID, "Thanks for your message!")[0]
	g := &plainErrGraph{}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		g.Graph = p.Graph
		p.Graph = g
	})
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("%s got %d messages, want 1", r.PSID, n)
	}
	if n := g.sends.Load(); n != 1 {
		t.Errorf("%d send calls, want 1 (the retry must find the delivered message)", n)
	}
}

// busyRepliedGraph answers every private reply send with Graph's "already
// replied" (10900) whose usage headers say the Page is at 97 % of its
// limit.
type busyRepliedGraph struct{ worker.Graph }

func (busyRepliedGraph) SendPrivateReply(context.Context, string, string, graph.Recipient, string) (graph.SendResult, error) {
	return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 10900, Type: "OAuthException", Message: "(#10900) Activity already replied to",
		Class: graph.ClassAlreadyReplied, Usage: graph.Usage{MaxPercent: 97}, Endpoint: "messages"}
}

// TestAlreadyRepliedNearLimitPauses: an "already replied" answer is a
// success for the reply (recorded as sent), but when its usage headers say
// the Page is at its limit, the Page is paused as for any answer that says
// so: calling on would get it throttled.
func TestAlreadyRepliedNearLimitPauses(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 149})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = busyRepliedGraph{p.Graph} })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 10*time.Second)
	d, reason, err := h.ledger.Paused(context.Background(), r.PageID)
	if err != nil || d == 0 {
		t.Fatalf("the Page is not paused after an answer at 97 %% of its limit (%v)", err)
	}
	if !strings.HasPrefix(reason, tasks.PauseThrottled) {
		t.Errorf("paused for %q, want a throttle", reason)
	}
}
