package worker_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestRateLimitedRepliesAllSent: replies whose Page's rate is used up past
// the longest wait for a send slot go back to the queue (counted as rate
// limited), not dropped: every one is sent, once.
func TestRateLimitedRepliesAllSent(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3011})
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 4, Per: time.Second}, 1
	page := h.pages[0].ID
	rs := h.addComments(page, 10, "Thanks!")
	m := metrics.New()
	m.InitPages([]string{page})
	// A slot for every reply at once: the last ones' slots are past the
	// longest wait (1.5 s) however slowly a loaded machine dequeues them
	// (with 4 slots, a slow dequeue kept every wait under it: CI once saw
	// no put-back).
	h.startWorkerOn(t, h.opt, len(rs), func(p *worker.Params) { p.Metrics = m })
	h.enqueueAll(t, rs)
	h.waitSent(t, rs, 20*time.Second)
	h.checkExactlyOnce(t, rs)
	if n := readMetric(t, m.RateLimited.WithLabelValues(page)).GetCounter().GetValue(); n == 0 {
		t.Error("no reply was put back for the rate: the test did not reach the path it checks")
	}
}

// TestReplyWaitsOutAnotherClaim: a target claimed by another attempt (a
// worker killed mid-send, its claim left until its lease ends) is not
// dropped by the reply that finds it busy: it goes back to the queue, and
// once the lease has run out (the outcome of the killed attempt unknown) the
// reply is checked with Graph and sent, once.
func TestReplyWaitsOutAnotherClaim(t *testing.T) {
	t.Parallel() // waits out the other claim's lease
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3013})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	ctx := context.Background()
	if res, err := h.ledger.Reserve(ctx, r.PageID, r.Target, "killed-worker", time.Second, tasks.Limit{}); err != nil || res.Outcome != tasks.ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	h.startWorker(t, 2)
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 15*time.Second)
	h.checkExactlyOnce(t, []tasks.Reply{r})
}

// TestReplicaLagPutBackUsesNoRetry: a reply whose claim no replica
// acknowledges in time goes back to the queue unsent without using one of
// its retries (a replica lagging for a while must not archive replies that
// were never sent), and is sent once the replica answers.
func TestReplicaLagPutBackUsesNoRetry(t *testing.T) {
	t.Parallel() // mostly waits with a replica frozen
	master, replica := startReplicated(t)
	h := newHarnessOn(t, sandbox.Options{Pages: 1, Seed: 3017}, &redistest.DB{Addr: master.Addr(), Client: master.Client()})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	resume := freeze(t, replica)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.ClaimReplicas, p.ClaimReplicaTimeout = 1, 200*time.Millisecond })
	h.enqueueAll(t, []tasks.Reply{r})
	ti := h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateRetry, asynq.TaskStateScheduled)
	if ti.Retried != 0 {
		t.Errorf("the put-back for an unreplicated claim used %d retries, want 0 (last error %q)", ti.Retried, ti.LastErr)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Fatalf("%d sends under a claim no replica had", n)
	}
	resume()
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	h.checkExactlyOnce(t, []tasks.Reply{r})
}

// rateAhead returns how far ahead of now page's send schedule is booked.
func rateAhead(t *testing.T, h *harness, page string) time.Duration {
	t.Helper()
	tat, _ := h.db.Client.Get(context.Background(), h.ledger.PageKey(page, "rate")).Int64()
	return time.Duration(tat-time.Now().UnixMicro()) * time.Microsecond
}

// TestPausedSlotWaitReturnsSlot: a doubtful reply waits for its send slot
// and finds its Page paused when the slot comes: it goes back to the queue
// with its doubt kept, and gives back the send slot it did not use, so the
// Page's schedule is not left a slot ahead for a reply that sent nothing.
func TestPausedSlotWaitReturnsSlot(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3019})
	r := h.replyWaitingForSlot(t, func(r tasks.Reply, g worker.Graph) worker.Graph {
		h.lostAnswer(t, r)
		return g
	})
	ctx := context.Background()
	// The schedule as booked with the reply's slot: giving that slot back
	// moves it back by one send interval (a second).
	booked := rateAhead(t, h, r.PageID) + time.Duration(time.Now().UnixMicro())*time.Microsecond
	if _, err := h.ledger.Pause(ctx, r.PageID, 2*time.Second, tasks.PauseThrottled+": (#4) Application request limit reached"); err != nil {
		t.Fatal(err)
	}
	h.waitPutBack(t, r, 10*time.Second, nil)
	after := rateAhead(t, h, r.PageID) + time.Duration(time.Now().UnixMicro())*time.Microsecond
	if after > booked-500*time.Millisecond {
		t.Errorf("the Page's send schedule moved back %s after a reply went back unsent for a pause, want its slot (a second)", booked-after)
	}
	if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status != tasks.StatusUnknown {
		t.Errorf("entry %+v %v after the paused put-back, want unknown (the doubt kept)", e, err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	h.checkExactlyOnce(t, []tasks.Reply{r})
}

// TestReadLaterReturnsSlot: a doubtful conversation reply whose Page's
// conversation read schedule is booked too far ahead goes back to the queue
// before its check, its doubt kept and no retry used, and gives back the
// send slot it reserved. It is checked and sent once later.
func TestReadLaterReturnsSlot(t *testing.T) {
	t.Parallel() // mostly waits for its booked read slot
	h, r := lostAnswerReply(t)
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 1, Per: time.Second}, 1
	ctx := context.Background()
	lim := worker.ConversationReadLimit(&h.pages[0])
	for range 8 { // about 4 s of reads booked: past the check's longest wait
		if _, err := h.ledger.TakeReadKey(ctx, r.PageID, "reads:conversations", lim); err != nil {
			t.Fatal(err)
		}
	}
	h.startWorker(t, 2)
	h.enqueueAll(t, []tasks.Reply{r})
	ti := h.waitTask(t, r, 10*time.Second, nil, asynq.TaskStateRetry, asynq.TaskStateScheduled)
	if ahead := rateAhead(t, h, r.PageID); ahead > 500*time.Millisecond {
		t.Errorf("the Page's send schedule is %s ahead after a reply went back unsent for its read slot", ahead)
	}
	if ti.Retried != 0 {
		t.Errorf("the read-later put-back used %d retries, want 0 (last error %q)", ti.Retried, ti.LastErr)
	}
	if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status != tasks.StatusUnknown {
		t.Errorf("entry %+v %v after the read-later put-back, want unknown (the doubt kept)", e, err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := h.sb.SendCount(r.PSID); n != 1 {
		t.Errorf("%s got %d messages, want 1", r.PSID, n)
	}
}

// TestShutdownWhileWaitingReleasesClaim: a reply waiting for its send slot,
// or at admission while its Page's send log is full, when its worker stops
// gives its claim back: the next worker's attempt finds the target free,
// not claimed until the stopped attempt's lease ends.
func TestShutdownWhileWaitingReleasesClaim(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, h *harness) tasks.Reply
	}{
		{"send slot", func(t *testing.T, h *harness) tasks.Reply {
			h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 1, Per: time.Second}, 1
			page := h.pages[0].ID
			rs := h.addComments(page, 4, "Thanks!")
			lim := worker.LimitOf(&h.pages[0], 10*time.Second)
			for _, o := range rs[1:] { // three other replies took the next send slots
				if res, err := h.ledger.Reserve(context.Background(), page, o.Target, tasks.NewToken(), time.Minute, lim); err != nil || res.Outcome != tasks.ReserveGo {
					t.Fatalf("reserve: %+v %v", res, err)
				}
			}
			h.enqueueAll(t, rs[:1])
			return rs[0]
		}},
		{"admission", waitingAtAdmission},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3023})
			r := tc.setup(t, h)
			w := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.MaxWait, p.ShutdownTimeout = 10*time.Second, 200*time.Millisecond })
			waitClaimed(t, h, r)
			w.Shutdown(context.Background())
			if n := h.sb.SendCount(r.Target.ID); n != 0 {
				t.Fatalf("%d sends: the reply did not wait", n)
			}
			e, err := h.ledger.Get(context.Background(), r.PageID, r.Target)
			if err != nil {
				t.Fatal(err)
			}
			if e.Status == tasks.StatusClaimed {
				t.Errorf("the stopped worker's claim is still held after Shutdown (entry %+v)", e)
			}
		})
	}
}

// TestReadSlotErrorKeepsDoubt: a conversation reply whose earlier attempt
// landed (its answer lost) cannot take its conversation read slot (a Redis
// error): it is retried with its doubt kept, and the next attempt reads the
// conversation and finds the earlier message instead of sending a second.
func TestReadSlotErrorKeepsDoubt(t *testing.T) {
	h, r := lostAnswerReply(t)
	if h.sb.AddPageMessage(r.PageID, r.PSID, r.Text, time.Now()) == "" {
		t.Fatal("no conversation to add the Page's message to")
	}
	hook := failOnArg("reads:conversations")
	ledger := hook.ledger(t, h)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger = ledger })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if hook.armed.Load() {
		t.Fatal("the read slot's Redis error was never injected: the test proves nothing")
	}
	if n := h.sb.SendCount(r.PSID); n != 0 {
		t.Errorf("%s got %d more messages after the earlier attempt's, want 0", r.PSID, n)
	}
}

// TestPastWindowReturnsSlot: a reply found past its Page's reply window
// after its reservation is archived unsent and gives back the send slot it
// booked: the Page's schedule is not left a slot ahead for nothing.
func TestPastWindowReturnsSlot(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3029})
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 1, Per: time.Second}, 1
	h.pages[0].MaxAge = time.Minute
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	r.Created = time.Now().Add(-time.Hour).UnixMilli()
	h.startWorker(t, 2)
	h.enqueueAll(t, []tasks.Reply{r})
	ti := h.waitArchived(t, r, 10*time.Second)
	if !strings.Contains(ti.LastErr, "reply window") {
		t.Fatalf("archived with %q, want the reply window named", ti.LastErr)
	}
	if ahead := rateAhead(t, h, r.PageID); ahead > 500*time.Millisecond {
		t.Errorf("the Page's send schedule is %s ahead after a reply past its window went unsent", ahead)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Errorf("%d sends past the reply window", n)
	}
}

// TestPersonAnsweredUsesNoRetry: on a Page that sends one reply per person,
// a comment whose writer already got a reply within the window is recorded
// as sent, and its task is done at its first run: no retry used, no send,
// and the send slot it booked given back.
func TestPersonAnsweredUsesNoRetry(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3031})
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 1, Per: time.Second}, 1
	h.pages[0].OneReplyPerPerson = true
	page := h.pages[0].ID
	rs := h.addComments(page, 2, "Thanks!")
	for i := range rs {
		rs[i].Person = "7300001"
	}
	r, earlier := rs[0], rs[1]
	who := tasks.Person{ID: r.Person, Commenter: true}
	if err := h.ledger.PersonSent(context.Background(), page, who, earlier.Target, "m_earlier", time.Time{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	h.startWorker(t, 2)
	h.enqueueAll(t, []tasks.Reply{r})
	ti := h.waitTask(t, r, 10*time.Second, nil, asynq.TaskStateCompleted)
	if ti.Retried != 0 {
		t.Errorf("the answered person's reply took %d retries, want 0 (last error %q)", ti.Retried, ti.LastErr)
	}
	if e, err := h.ledger.Get(context.Background(), page, r.Target); err != nil || e.Status != tasks.StatusSent || e.MessageID != "m_earlier" {
		t.Errorf("entry %+v %v, want sent with the earlier reply's message id", e, err)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Errorf("%d sends to a person already answered", n)
	}
	if ahead := rateAhead(t, h, page); ahead > 500*time.Millisecond {
		t.Errorf("the Page's send schedule is %s ahead after a reply that needed no send", ahead)
	}
}

// TestSentMarkErrorRetried: a reply Graph accepted whose sent mark then
// fails (a Redis error) is not done: its claim stays, and the next attempt
// asks Graph, finds the reply and records it as sent, without a second send.
func TestSentMarkErrorRetried(t *testing.T) {
	t.Parallel() // waits out the claim's lease
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3037})
	r := h.addComments(h.pages[0].ID, 1, "Hello")[0]
	hook := failSentMark()
	ledger := hook.ledger(t, h)
	// A short GraphTimeout: the claim's lease (2 × it + 5 s) ends sooner.
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.GraphTimeout = ledger, 200*time.Millisecond })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if hook.armed.Load() {
		t.Fatal("the sent mark's Redis error was never injected: the test proves nothing")
	}
	h.checkExactlyOnce(t, []tasks.Reply{r})
}

// TestPersonGapPutBackKeepsDoubtAndSlot: a doubtful comment reply held by
// its person's gap goes back to the queue with its doubt kept (the entry
// unknown: released, the next attempt would send without asking Graph) and
// its send slot given back.
func TestPersonGapPutBackKeepsDoubtAndSlot(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3041})
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 1, Per: time.Second}, 1
	h.pages[0].PersonGap = 2 * time.Second
	page := h.pages[0].ID
	ctx := context.Background()
	rs := h.addComments(page, 2, "Thanks!")
	for i := range rs {
		rs[i].Person = "7400001"
	}
	r, other := rs[0], rs[1]
	// The person's other reply was just booked: r must wait out the gap.
	if wait, err := h.ledger.PersonGap(ctx, page, r.Person, other.Target, 0, h.pages[0].PersonGap); err != nil || wait != 0 {
		t.Fatalf("book the other reply: %s %v", wait, err)
	}
	h.lostAnswer(t, r)
	h.startWorker(t, 2)
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitPutBack(t, r, 10*time.Second, nil)
	if ahead := rateAhead(t, h, page); ahead > 500*time.Millisecond {
		t.Errorf("the Page's send schedule is %s ahead after a reply went back unsent for the person's gap", ahead)
	}
	if e, err := h.ledger.Get(ctx, page, r.Target); err != nil || e.Status != tasks.StatusUnknown {
		t.Errorf("entry %+v %v after the gap's put-back, want unknown (the doubt kept)", e, err)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Fatalf("%d sends within the person's gap", n)
	}
}

// TestRedisErrorsReleaseClaim: a reply whose person's gap or claim, or
// whose admission, cannot be read (a Redis error) is retried, and its
// target's claim given back at once: the retry finds the target free, not
// claimed until the failed attempt's lease ends.
func TestRedisErrorsReleaseClaim(t *testing.T) {
	for _, tc := range []struct {
		name, part string
	}{
		{"person gap", ":pg:"},
		{"person claim", "7400002"},
		{"admission", ":sends"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3043})
			h.pages[0].OneReplyPerPerson = true
			if tc.name == "person gap" {
				h.pages[0].PersonGap = time.Second
			}
			r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
			r.Person = "7400002"
			hook := failOnArg(tc.part)
			ledger := hook.ledger(t, h)
			// The failed attempt's retry comes late, once the entry is read.
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.BackoffBase, p.BackoffMax = ledger, 5*time.Second, 10*time.Second })
			h.enqueueAll(t, []tasks.Reply{r})
			ti := h.waitTask(t, r, 10*time.Second, nil, asynq.TaskStateRetry)
			if !strings.Contains(ti.LastErr, "LOADING") {
				t.Fatalf("put back with %q, want the %s's Redis error", ti.LastErr, tc.name)
			}
			if e, err := h.ledger.Get(context.Background(), r.PageID, r.Target); err != nil || e.Status == tasks.StatusClaimed {
				t.Errorf("entry %+v %v after the failed attempt, want its claim given back", e, err)
			}
		})
	}
}

// TestPersonBusyPutBackSaysWhy: a conversation reply put back because
// another reply to the person is on its way says so; one put back because
// that other reply's outcome is unknown says that instead (it is settled by
// that reply's next attempt, so it comes back later).
func TestPersonBusyPutBackSaysWhy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		inDoubt bool
		want    string
	}{
		{"on its way", false, "on its way"},
		{"in doubt", true, "outcome unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, pages, ann, r1, r2 := annTwoMessages(t, "7001103")
			page := pages[0].ID
			ctx := context.Background()
			if res, err := h.ledger.Reserve(ctx, page, r1.Target, "tok1", time.Minute, tasks.Limit{}); err != nil || res.Outcome != tasks.ReserveGo {
				t.Fatalf("reserve: %+v %v", res, err)
			}
			if pc, err := h.ledger.PersonClaim(ctx, page, tasks.Person{ID: ann.ID}, r1.Target, "tok1", time.UnixMilli(r1.Created), 24*time.Hour); err != nil || pc.Outcome != tasks.PersonClaimed {
				t.Fatalf("claim: %+v %v", pc, err)
			}
			if tc.inDoubt {
				if err := h.ledger.MarkUnknown(ctx, page, r1.Target, 0); err != nil {
					t.Fatal(err)
				}
			}
			h.enqueueAll(t, []tasks.Reply{r2})
			h.startPollingWorker(t, pages, nil)
			ti := h.waitTask(t, r2, 10*time.Second, nil, asynq.TaskStateRetry, asynq.TaskStateScheduled)
			if !strings.Contains(ti.LastErr, tc.want) {
				t.Errorf("put back with %q, want %q named", ti.LastErr, tc.want)
			}
			if got := sendsTo(h, ann.ID); len(got) != 0 {
				t.Fatalf("sent %q while another reply to the person was not done", got)
			}
		})
	}
}

// failOnce fails, once armed, the first Redis call whose arguments match
// picks, with a Redis error that is not an outage (LOADING), and counts it.
//
// With first set, the matching call is not failed: first runs just before
// it, then the call goes on (another worker's steps, played at that moment).
type failOnce struct {
	match  func(args []any) bool
	first  func()
	armed  atomic.Bool
	failed atomic.Int32
}

// failOnArg is a failOnce of the first call with an argument (a key, mostly)
// that contains part.
func failOnArg(part string) *failOnce {
	return &failOnce{match: func(args []any) bool {
		return slices.ContainsFunc(args, func(a any) bool {
			s, ok := a.(string)
			return ok && strings.Contains(s, part)
		})
	}}
}

// ledger arms f and returns a ledger on h's database whose calls go through it.
func (f *failOnce) ledger(t *testing.T, h *harness) *tasks.Ledger {
	t.Helper()
	f.armed.Store(true)
	rdb := redis.NewClient(&redis.Options{Addr: h.db.Addr, DB: h.db.DB})
	rdb.AddHook(f)
	t.Cleanup(func() { _ = rdb.Close() })
	return tasks.NewLedger(rdb, tasks.LedgerOptions{})
}

func (f *failOnce) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *failOnce) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.match(cmd.Args()) && f.armed.CompareAndSwap(true, false) {
			f.failed.Add(1)
			if f.first != nil {
				f.first()
				return next(ctx, cmd)
			}
			err := errors.New("LOADING Redis is loading the dataset in memory")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (f *failOnce) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestEarlierReplyAnswersPerson: on a Page that sends one reply per person,
// a comment that already has a private reply is recorded for the person too,
// whether its doubt check finds it (an earlier attempt landed, its answer
// lost) or Graph refuses the send as already replied: the person's other
// comment is answered by it, not sent a second private reply.
func TestEarlierReplyAnswersPerson(t *testing.T) {
	for _, doubt := range []bool{true, false} {
		t.Run(map[bool]string{true: "doubt check", false: "already replied"}[doubt], func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3047})
			h.pages[0].OneReplyPerPerson = true
			page := h.pages[0]
			rs := h.addComments(page.ID, 2, "Thanks!")
			for i := range rs {
				rs[i].Person = "7400004"
			}
			r, other := rs[0], rs[1]
			g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
			if _, err := g.SendPrivateReply(context.Background(), page.AccessToken, page.ID, graph.Recipient{CommentID: r.Target.ID}, r.Text); err != nil {
				t.Fatal(err)
			}
			if doubt {
				h.lostAnswer(t, r)
			}
			h.startWorker(t, 2)
			h.enqueueAll(t, []tasks.Reply{r})
			h.waitSent(t, []tasks.Reply{r}, 10*time.Second)
			h.enqueueAll(t, []tasks.Reply{other})
			h.waitSent(t, []tasks.Reply{other}, 10*time.Second)
			if n := h.sb.SendCount(other.Target.ID); n != 0 {
				t.Errorf("the person's other comment got %d private replies, want 0 (answered by the earlier one)", n)
			}
			if n := h.sb.SendCount(r.Target.ID); n != 1 {
				t.Errorf("%s got %d private replies, want the earlier one only", r.Target, n)
			}
		})
	}
}

// TestThrottledSendReleasesClaim: a send refused as throttled (Graph's
// definite answer: nothing was sent) puts the reply back with its claim
// released, not held until its lease ends: after the pause the reply is
// sent without waiting out a lease or asking Graph about an earlier attempt.
func TestThrottledSendReleasesClaim(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3059})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.startThrottledOnce(t)
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitPutBack(t, r, 10*time.Second, nil)
	if e, err := h.ledger.Get(context.Background(), r.PageID, r.Target); err != nil || e.Status != tasks.StatusNone {
		t.Errorf("entry %+v %v after a throttled send, want none (the claim released)", e, err)
	}
}

// noFieldGraph refuses every private_reply_conversation read with Graph's
// "nonexisting field" (code 100), which Graph gives for a post.
type noFieldGraph struct{ worker.Graph }

func (noFieldGraph) PrivateReplyConversation(context.Context, string, string) (string, error) {
	return "", &graph.Error{HTTPStatus: 400, Code: 100, Type: "OAuthException", Class: graph.ClassPermanent, Endpoint: "object",
		Message: "(#100) Tried accessing nonexisting field (private_reply_conversation) on node type (Comment)"}
}

// TestCommentDoubtNoFieldNotSentAgain: a post's doubt check refused as
// "nonexisting field" sends the reply again (Graph refuses a post's second
// private reply), but a comment's is Graph refusing a documented field: the
// check failed for good, and the reply, whose earlier attempt may have
// landed, is archived rather than sent again on a guess.
func TestCommentDoubtNoFieldNotSentAgain(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3053})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.lostAnswer(t, r)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = noFieldGraph{p.Graph} })
	h.enqueueAll(t, []tasks.Reply{r})
	ti := h.waitArchived(t, r, 10*time.Second)
	if !strings.Contains(ti.LastErr, "nonexisting field") {
		t.Errorf("archived with %q, want Graph's refusal named", ti.LastErr)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Errorf("%d sends after a doubt check that failed for good", n)
	}
}

// lostCheckGraph loses the answer to every private_reply_conversation read
// (a gateway's 504: outcome unknown).
type lostCheckGraph struct{ worker.Graph }

func (lostCheckGraph) PrivateReplyConversation(context.Context, string, string) (string, error) {
	return "", &graph.Error{HTTPStatus: 504, Class: graph.ClassTransient, Unknown: true, Endpoint: "object", Message: "HTTP 504 with a non-JSON body"}
}

// TestFailedCheckKeepsDoubtWithoutSettle: a doubtful reply whose check's
// answer is lost is retried with its doubt kept, but with no settle time: a
// read sends nothing, so the next attempt may check at once, not wait as
// after a send whose outcome is unknown.
func TestFailedCheckKeepsDoubtWithoutSettle(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3061})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	h.lostAnswer(t, r)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Graph = lostCheckGraph{p.Graph}
		// The retry comes late, once the entry is read; a settle time
		// would be long.
		p.BackoffBase, p.BackoffMax, p.SendSettle = 5*time.Second, 10*time.Second, time.Minute
	})
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitTask(t, r, 10*time.Second, nil, asynq.TaskStateRetry)
	res, err := h.ledger.Reserve(context.Background(), r.PageID, r.Target, tasks.NewToken(), time.Minute, tasks.Limit{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != tasks.ReserveGo || !res.Doubtful {
		t.Errorf("after a failed check the next reservation is %+v, want go with the doubt kept (no settle time)", res)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Errorf("%d sends without a check", n)
	}
}

// TestRenewedClaimNotReplicatedPutBack: a reply whose claim lapsed while it
// waited at admission takes it again, and no replica acknowledges the
// renewal: the reply goes back to the queue unsent, with no retry used and
// the renewed claim given back (not held until its new lease ends), and is
// sent once the replica answers.
func TestRenewedClaimNotReplicatedPutBack(t *testing.T) {
	t.Parallel() // waits with a replica frozen
	master, replica := startReplicated(t)
	h := newHarnessOn(t, sandbox.Options{Pages: 1, Seed: 3067}, &redistest.DB{Addr: master.Addr(), Client: master.Client()})
	r := waitingAtAdmission(t, h)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.ClaimReplicas, p.ClaimReplicaTimeout = 1, 200*time.Millisecond })
	ctx := context.Background()
	entry := h.ledger.PageKey(r.PageID, "t:"+r.Target.String())
	tok := strings.Split(waitClaimed(t, h, r), "|")[1]
	lapsed := "c|" + tok + "|" + strconv.FormatInt(time.Now().Add(-time.Second).UnixMilli(), 10)
	if err := h.db.Client.SetArgs(ctx, entry, lapsed, redis.SetArgs{KeepTTL: true}).Err(); err != nil {
		t.Fatal(err)
	}
	resume := freeze(t, replica)
	ti := h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateRetry, asynq.TaskStateScheduled)
	if ti.Retried != 0 {
		t.Errorf("the put-back for an unreplicated renewal used %d retries, want 0 (last error %q)", ti.Retried, ti.LastErr)
	}
	if e, err := h.ledger.Get(ctx, r.PageID, r.Target); err != nil || e.Status == tasks.StatusClaimed {
		t.Errorf("entry %+v %v after the put-back, want the renewed claim given back", e, err)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Fatalf("%d sends under a renewed claim no replica had", n)
	}
	resume()
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	h.checkExactlyOnce(t, []tasks.Reply{r})
}

// heldSendGraph holds each private reply send until release is closed,
// saying on sending when one has arrived.
type heldSendGraph struct {
	worker.Graph
	sending chan struct{}
	release chan struct{}
}

func (g *heldSendGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	select {
	case g.sending <- struct{}{}:
	default:
	}
	<-g.release
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestClaimOutlivesSend: while a send is on its way its claim's lease runs
// past the longest the send can take (GraphTimeout) with room to record its
// outcome: a claim that ran out mid-send could be taken by another attempt,
// which would find no reply yet and send again.
func TestClaimOutlivesSend(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3071})
	r := h.addComments(h.pages[0].ID, 1, "Thanks!")[0]
	g := &heldSendGraph{sending: make(chan struct{}, 1), release: make(chan struct{})}
	var timeout time.Duration
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		g.Graph = p.Graph
		p.Graph = g
		timeout = p.GraphTimeout
	})
	t.Cleanup(func() { close(g.release) }) // before the worker's shutdown
	h.enqueueAll(t, []tasks.Reply{r})
	select {
	case <-g.sending:
	case <-time.After(10 * time.Second):
		t.Fatal("the reply was never sent")
	}
	v := h.db.Client.Get(context.Background(), h.ledger.PageKey(r.PageID, "t:"+r.Target.String())).Val()
	parts := strings.Split(v, "|")
	if len(parts) != 3 || parts[0] != "c" {
		t.Fatalf("entry %q during the send, want a claim", v)
	}
	until, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(time.UnixMilli(until)); left < timeout+time.Second {
		t.Errorf("the claim's lease has %s left as the send leaves, want more than the Graph timeout %s with room to record", left, timeout)
	}
}

// answerBetweenGraph fails the sends to fail with Graph's code 2 (a failure
// that counts toward an outage) and refuses the send to refuse for good
// (code 100, an answer).
type answerBetweenGraph struct {
	worker.Graph
	fail   map[string]bool
	refuse string
}

func (g *answerBetweenGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	switch {
	case g.fail[to.CommentID]:
		return graph.SendResult{}, &graph.Error{HTTPStatus: 500, Code: 2, Class: graph.ClassTransient, Message: "An unexpected error has occurred. Please retry your request later."}
	case to.CommentID == g.refuse:
		return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 100, Class: graph.ClassPermanent, Message: "(#100) Invalid parameter"}
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestGraphAnswerEndsFailureRun: a Graph answer that refuses a reply for
// good still says Graph is up: it ends the Page's run of failures, so four
// failures before it and four after are no outage, and the Page is not
// paused as graph_down.
func TestGraphAnswerEndsFailureRun(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3073})
	page := h.pages[0].ID
	rs := h.addComments(page, 9, "Thanks!")
	before, refused, after := rs[:4], rs[4], rs[5:]
	g := &answerBetweenGraph{fail: map[string]bool{}, refuse: refused.Target.ID}
	for _, r := range append(append([]tasks.Reply{}, before...), after...) {
		g.fail[r.Target.ID] = true
	}
	h.startWorkerOn(t, h.opt, 1, func(p *worker.Params) {
		g.Graph = p.Graph
		p.Graph = g
		// No retry comes back during the test: each reply fails once.
		p.BackoffBase, p.BackoffMax = time.Minute, time.Minute
	})
	ctx := context.Background()
	check := func() {
		if _, reason, _ := h.ledger.Paused(ctx, page); tasks.PauseKind(reason) == tasks.PauseGraphDown {
			t.Fatalf("the Page was paused as graph_down (%q): Graph's answer did not end the run", reason)
		}
	}
	h.enqueueAll(t, before)
	for _, r := range before {
		h.waitTask(t, r, 10*time.Second, check, asynq.TaskStateRetry)
	}
	h.enqueueAll(t, []tasks.Reply{refused})
	h.waitArchived(t, refused, 10*time.Second)
	h.enqueueAll(t, after)
	for _, r := range after {
		h.waitTask(t, r, 10*time.Second, check, asynq.TaskStateRetry)
	}
	check()
}

// TestDoubtfulPostHoldsPerson: on a Page that sends one reply per person, a
// visitor post's reply whose earlier attempt may have landed (its answer
// lost; a post has no private_reply_conversation to check, so the reply is
// sent again for Graph to refuse a second one) claims its person, and the
// Page is paused before its send's admission. The reply goes back to the
// queue with its doubt kept, and the doubt must hold its person meanwhile
// (as TestPausedAdmitKeepsDoubt says): the person's other comment must not
// get a private reply of its own while the post's earlier one may have
// reached them (here it did).
func TestDoubtfulPostHoldsPerson(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 3079})
	h.pages[0].OneReplyPerPerson = true
	page := h.pages[0]
	vis := sandbox.User{ID: "7400005", Name: "Pat Poster"}
	post := h.sb.AddPost(page.ID, vis, "Do you ship to Spain?", time.Now().Add(-time.Hour))
	r := tasks.Reply{PageID: page.ID, Target: tasks.Target{Kind: tasks.KindPost, ID: post}, Text: "We do!", Source: tasks.SourcePoll, Person: vis.ID}
	other := h.addComments(page.ID, 1, "Thanks!")[0]
	ctx := context.Background()
	g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
	if _, err := g.SendPrivateReply(ctx, page.AccessToken, page.ID, graph.Recipient{PostID: post}, r.Text); err != nil {
		t.Fatal(err)
	}
	// The earlier attempt claimed the person, and its claim stays while its
	// outcome is unknown.
	who := tasks.Person{ID: vis.ID, Commenter: true}
	h.lostAnswer(t, r, func() {
		if pc, err := h.ledger.PersonClaim(ctx, page.ID, who, r.Target, "t1", time.Time{}, time.Hour); err != nil || pc.Outcome != tasks.PersonClaimed {
			t.Fatalf("person claim: %+v %v", pc, err)
		}
	})
	pg := &pauseAfterCheckGraph{ledger: h.ledger, page: page.ID}
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		pg.Graph = p.Graph
		p.Graph = pg
	})
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitPutBack(t, r, 10*time.Second, nil)
	if e, err := h.ledger.Get(ctx, page.ID, r.Target); err != nil || e.Status != tasks.StatusUnknown {
		t.Fatalf("entry %+v %v after the paused admission, want unknown (the doubt kept)", e, err)
	}
	// The person's other comment's reply, as its attempt would claim them.
	pc, err := h.ledger.PersonClaim(ctx, page.ID, who, other.Target, tasks.NewToken(), time.Time{}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Outcome != tasks.PersonBusy {
		t.Errorf("the person's other reply may claim them (%+v) while the post's earlier reply to them may have landed", pc)
	}
}
