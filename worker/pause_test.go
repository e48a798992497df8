package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// answerGraph answers every send with err.
type answerGraph struct {
	worker.Graph
	err error
}

func (g answerGraph) SendPrivateReply(context.Context, string, string, graph.Recipient, string) (graph.SendResult, error) {
	return graph.SendResult{}, g.err
}

// TestPausesFollowGraph: a page-broken answer whose usage headers say access
// comes back later than the default pause pauses the Page that long; an
// "already replied" answer whose usage headers say the Page is at its limit
// is recorded as sent and pauses the Page too.
func TestPausesFollowGraph(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      *graph.Error
		minPause time.Duration
		sent     bool
	}{
		{name: "368 with a regain time of 30 minutes", minPause: 25 * time.Minute,
			err: &graph.Error{Code: 368, Class: graph.ClassPageBroken, Message: "blocked", RetryAfter: 30 * time.Minute, Usage: graph.Usage{RegainAccess: 30 * time.Minute}}},
		{name: "10900 with usage at 97 %", minPause: 30 * time.Second, sent: true,
			err: &graph.Error{Code: 10900, Class: graph.ClassAlreadyReplied, Message: "Activity already replied to", Usage: graph.Usage{MaxPercent: 97}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 79})
			page := h.pages[0].ID
			r := h.addComments(page, 1, "Hi")[0]
			h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = answerGraph{Graph: p.Graph, err: tc.err} })
			ctx := context.Background()
			if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(20 * time.Second)
			for {
				d, _, err := h.ledger.Paused(ctx, page)
				if err != nil {
					t.Fatal(err)
				}
				if d > 0 {
					if d < tc.minPause {
						t.Errorf("paused for %s, want at least %s", d, tc.minPause)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("page never paused")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tc.sent {
				h.waitSent(t, []tasks.Reply{r}, 10*time.Second)
			}
		})
	}
}

// TestPauseLogsOnePageID: the "page paused" lines are JSON objects with one
// page_id each (a key twice breaks log pipelines): the answering Page's from
// the caller's logger, another Page's of the app as paused_page_id.
func TestPauseLogsOnePageID(t *testing.T) {
	db := redistest.New(t)
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{AppPages: []string{"111", "222"}})
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil)).With(slog.String("page_id", "111"))
	worker.PauseForError(l, metrics.New(), "111", &graph.Error{Code: 4, Class: graph.ClassThrottled, Message: "(#4) Application request limit reached"}, log)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a line per paused Page, got:\n%s", buf.String())
	}
	for _, line := range lines {
		seen := map[string]bool{}
		dec := json.NewDecoder(strings.NewReader(line))
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			if seen[k.(string)] {
				t.Errorf("key %q twice in %s", k, line)
			}
			seen[k.(string)] = true
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !strings.Contains(lines[1], `"paused_page_id":"222"`) {
		t.Errorf("the other Page's pause does not name it: %s", lines[1])
	}
}

// replyWaitingForSlot makes the harness's first Page send 1 a second, lets two
// other replies take its next send slots, and starts a worker whose Graph is
// what graph makes of the sandbox's client (prepare, given the reply first,
// may set it up too). It enqueues the reply and returns it once the reply has
// claimed its target: its send slot is then about two seconds ahead.
func (h *harness) replyWaitingForSlot(t *testing.T, prepare func(r tasks.Reply, sandboxGraph worker.Graph) worker.Graph) tasks.Reply {
	t.Helper()
	h.pages[0].Rate, h.pages[0].Burst = config.Rate{N: 1, Per: time.Second}, 1
	page := h.pages[0].ID
	rs := h.addComments(page, 3, "Thanks!")
	r := rs[0]
	g := prepare(r, graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}))
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Graph = g })
	ctx := context.Background()
	lim := worker.LimitOf(&h.pages[0], 5*time.Second)
	for _, o := range rs[1:] { // two other replies took the next send slots
		if res, err := h.ledger.Reserve(ctx, page, o.Target, tasks.NewToken(), time.Minute, lim); err != nil || res.Outcome != tasks.ReserveGo {
			t.Fatalf("reserve: %+v %v", res, err)
		}
	}
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, err := h.ledger.Get(ctx, page, r.Target)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status == tasks.StatusClaimed {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reply did not claim its target (entry %v)", e.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pauseWatchGraph counts the private_reply_conversation reads made while
// the Page is paused in the ledger.
type pauseWatchGraph struct {
	worker.Graph
	ledger      *tasks.Ledger
	page        string
	whilePaused atomic.Int32
	checks      atomic.Int32
}

func (g *pauseWatchGraph) PrivateReplyConversation(ctx context.Context, token, id string) (string, error) {
	g.checks.Add(1)
	if d, _, _ := g.ledger.Paused(context.Background(), g.page); d > 0 {
		g.whilePaused.Add(1)
	}
	return g.Graph.PrivateReplyConversation(ctx, token, id)
}

// TestDoubtCheckAfterPausedWait: a doubtful reply on a Page at 1 a second
// waits for its send slot; meanwhile Graph throttles the Page. The reply's
// check of the earlier attempt (a Graph read) must not go out during the
// pause: the reply goes back to the queue, its doubt kept, and is checked
// and settled once the pause is over.
func TestDoubtCheckAfterPausedWait(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 97})
	g := &pauseWatchGraph{ledger: h.ledger, page: h.pages[0].ID}
	r := h.replyWaitingForSlot(t, func(r tasks.Reply, gr worker.Graph) worker.Graph {
		h.lostAnswer(t, r)
		g.Graph = gr
		return g
	})
	ctx := context.Background()
	if g.checks.Load() != 0 {
		// Its slot is two seconds ahead, and the check comes after the
		// wait for it: a check already made is a check before the wait.
		t.Fatal("the doubtful reply was checked before waiting for its send slot")
	}
	if _, err := h.ledger.Pause(ctx, g.page, 2*time.Second, tasks.PauseThrottled+": (#4) Application request limit reached"); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := g.whilePaused.Load(); n > 0 {
		t.Errorf("%d private_reply_conversation reads while the Page was paused as throttled", n)
	}
	if n := g.checks.Load(); n == 0 {
		t.Error("the doubtful reply was recorded without a check")
	}
	if n := h.sb.SendCount(r.Target.ID); n != 1 {
		t.Errorf("%d sends to %s, want 1", n, r.Target)
	}
}

// pauseAfterCheckGraph pauses the Page once its check of an earlier attempt
// has answered: between the check and the send.
type pauseAfterCheckGraph struct {
	worker.Graph
	ledger *tasks.Ledger
	page   string
	once   sync.Once
}

func (g *pauseAfterCheckGraph) PrivateReplyConversation(ctx context.Context, token, id string) (string, error) {
	conv, err := g.Graph.PrivateReplyConversation(ctx, token, id)
	g.once.Do(func() {
		_, _ = g.ledger.Pause(context.Background(), g.page, 3*time.Second, tasks.PauseThrottled+": (#4) Application request limit reached")
	})
	return conv, err
}

// TestPausedAdmitKeepsDoubt: a doubtful reply's check finds nothing sent,
// and the Page is paused before the send's admission, which puts the reply
// back. The doubt stays (the entry unknown, not released): the check that
// cleared it may be one that cannot see every earlier reply (a visitor
// post's has no private_reply_conversation), and a released entry would let
// the person's other comment, on a one_reply_per_person Page, get a reply
// while this one's earlier attempt may have landed. The reply is sent once
// after the pause.
func TestPausedAdmitKeepsDoubt(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 99})
	g := &pauseAfterCheckGraph{ledger: h.ledger, page: h.pages[0].ID}
	r := h.replyWaitingForSlot(t, func(r tasks.Reply, gr worker.Graph) worker.Graph {
		h.lostAnswer(t, r)
		g.Graph = gr
		return g
	})
	h.waitPutBack(t, r, 30*time.Second, nil)
	e, err := h.ledger.Get(context.Background(), r.PageID, r.Target)
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != tasks.StatusUnknown {
		t.Errorf("entry %v after the paused admission put the doubtful reply back, want unknown (the doubt kept)", e.Status)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := h.sb.SendCount(r.Target.ID); n != 1 {
		t.Errorf("%d sends to %s, want 1", n, r.Target)
	}
}

// sendWatchGraph counts the private reply sends made while the Page is
// paused in the ledger.
type sendWatchGraph struct {
	worker.Graph
	ledger      *tasks.Ledger
	page        string
	whilePaused atomic.Int32
}

func (g *sendWatchGraph) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	if d, _, _ := g.ledger.Paused(context.Background(), g.page); d > 0 {
		g.whilePaused.Add(1)
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestNoSendAfterPausedSlotWait: a reply on a Page at 1 a second claims its
// target and waits for its send slot, two seconds ahead; meanwhile Graph
// throttles the Page. The send must not go out during the pause, however the
// reply got its slot before it: the last gate before the send (the ledger's
// admission) refuses it, and the reply is sent once the pause is over.
func TestNoSendAfterPausedSlotWait(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 98})
	page := h.pages[0].ID
	g := &sendWatchGraph{ledger: h.ledger, page: page}
	r := h.replyWaitingForSlot(t, func(_ tasks.Reply, gr worker.Graph) worker.Graph {
		g.Graph = gr
		return g
	})
	ctx := context.Background()
	if n := h.sb.SendCount(r.Target.ID); n != 0 {
		t.Fatalf("the reply was sent before its slot, %d times", n)
	}
	pausedAt := time.Now()
	if _, err := h.ledger.Pause(ctx, page, 3*time.Second, tasks.PauseThrottled+": (#4) Application request limit reached"); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{r}, 30*time.Second)
	if n := g.whilePaused.Load(); n > 0 {
		t.Errorf("%d sends while the Page was paused as throttled", n)
	}
	if n := h.sb.SendCount(r.Target.ID); n != 1 {
		t.Errorf("%d sends to %s, want 1", n, r.Target)
	}
	for _, s := range h.sb.Sends() {
		if s.Target == r.Target.ID && s.Time.Before(pausedAt.Add(3*time.Second)) {
			t.Errorf("sent at %s, %s after the pause of 3s began", s.Time.Format(time.StampMilli), s.Time.Sub(pausedAt))
		}
	}
}

// pauseWithToken pauses page for 5 minutes for reason, as a process whose
// token for it is token would: the pause's fingerprint is that token's. A
// pause already there is lifted first.
func pauseWithToken(t *testing.T, h *harness, page, token, reason string) {
	t.Helper()
	ctx := context.Background()
	l := tasks.NewLedger(h.db.Client, tasks.LedgerOptions{PageTokens: map[string]string{page: token}})
	if err := l.Resume(ctx, page); err != nil {
		t.Fatal(err)
	}
	if set, err := l.Pause(ctx, page, 5*time.Minute, reason); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
}

// TestWorkerLiftsStaleBrokenPause: a page_broken pause set with another
// token than the worker's (a one-off poll with an older config) is lifted by
// the running worker, which then sends the replies it had put back until
// the pause's end; one set with the worker's own token holds.
func TestWorkerLiftsStaleBrokenPause(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 83})
	page := h.pages[0].ID
	ctx := context.Background()
	const broken = "page_broken: (#190) Error validating access token: the session has been invalidated"
	pauseWith := func(token string) { t.Helper(); pauseWithToken(t, h, page, token, broken) }
	own := tasks.NewLedger(h.db.Client, tasks.LedgerOptions{Batch: true, PageTokens: map[string]string{page: h.pages[0].AccessToken}})
	t.Cleanup(own.Close)
	const every = 100 * time.Millisecond
	pauseWith(h.pages[0].AccessToken)
	r := h.addComments(page, 1, "Hi")[0]
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.StalePausesCheckedEvery = own, every })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitPutBack(t, r, 10*time.Second, nil)
	// Paused with the worker's own token: the pause holds through many checks.
	time.Sleep(10 * every)
	if d, _, err := h.ledger.Paused(ctx, page); err != nil || d == 0 {
		t.Fatalf("the worker lifted a pause of its own token (%v)", err)
	}
	if n := len(h.sb.Sends()); n != 0 {
		t.Fatalf("%d sends while the Page was paused", n)
	}
	// Paused with a token the worker does not have: lifted, and the reply
	// put back until the pause's end goes now.
	pauseWith("EAABtheoldtokenthatbroke")
	h.waitSent(t, []tasks.Reply{r}, 10*time.Second)
	if d, _, err := h.ledger.Paused(ctx, page); err != nil || d != 0 {
		t.Fatalf("still paused for %s (%v)", d, err)
	}
}
