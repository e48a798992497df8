package worker_test

import (
	"context"
	"encoding/json"
	"iter"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// heldFeeds holds the feed reads of some Pages until release is closed, as a
// poll paced at a low rate waits for its read slots, and says which Pages'
// polls are holding.
type heldFeeds struct {
	worker.PollGraph
	hold    map[string]bool
	release chan struct{}
	mu      sync.Mutex
	held    []string
	entered chan string
}

func (g *heldFeeds) Feed(ctx context.Context, token, pageID string) iter.Seq2[graph.Post, error] {
	if g.hold[pageID] {
		g.mu.Lock()
		g.held = append(g.held, pageID)
		g.mu.Unlock()
		g.entered <- pageID
		select {
		case <-g.release:
		case <-ctx.Done():
		}
	}
	return g.PollGraph.Feed(ctx, token, pageID)
}

// TestSlowPollsHoldNoReplySlots: polls that take long (a Page at a low rate
// waits for each read slot) never take the worker slots replies need, and
// never all the slots webhook items need: with one worker slot, a held poll
// leaves the replies of another Page flowing; with two, a second Page's poll
// is put back while the first holds, and a webhook item still runs.
func TestSlowPollsHoldNoReplySlots(t *testing.T) {
	t.Parallel() // mostly waits on held polls
	h := newHarness(t, sandbox.Options{Pages: 3, Posts: 1, Comments: 1, Seed: 43})
	pages := pollPages(h)
	for i := range pages {
		pages[i].Schedule = "@every 1h"
		pages[i].DefaultText = defaultText
	}
	slow1, slow2, other := pages[0].ID, pages[1].ID, pages[2].ID
	pp := h.pollParams(pages)
	g := &heldFeeds{PollGraph: pp.Graph, hold: map[string]bool{slow1: true, slow2: true},
		release: make(chan struct{}), entered: make(chan string, 4)}
	pp.Graph = g
	released := false
	release := func() {
		if !released {
			released = true
			close(g.release)
		}
	}
	t.Cleanup(release)

	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	polls := 0
	enqueuePoll := func(page string) string {
		t.Helper()
		b, _ := json.Marshal(tasks.Poll{PageID: page})
		polls++
		id := "poll:test:" + page + ":" + strconv.Itoa(polls)
		if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.TaskID(id), asynq.Queue(tasks.QueuePolls),
			asynq.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
		return id
	}
	ctx := context.Background()
	enqueueReplies := func(n int) []tasks.Reply {
		t.Helper()
		rs := h.addComments(other, n, "Thanks!")
		for _, r := range rs {
			if out, _, err := h.enq.Enqueue(ctx, r); err != nil || out != tasks.Enqueued {
				t.Fatalf("enqueue %s: %v %v", r.Target, out, err)
			}
		}
		return rs
	}
	waitEntered := func(want string) {
		t.Helper()
		select {
		case p := <-g.entered:
			if p != want {
				t.Fatalf("poll of %s entered, want %s", p, want)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("the poll of %s did not start", want)
		}
	}

	t.Run("one slot", func(t *testing.T) {
		h.startWorkerOn(t, h.opt, 1, func(p *worker.Params) { p.Poll = worker.NewPollHandler(pp) })
		id := enqueuePoll(slow1)
		waitEntered(slow1)
		rs := enqueueReplies(5)
		// The poll holds its slot throughout: these are sent beside it.
		h.waitSent(t, rs, 20*time.Second)
		release()
		insp := asynq.NewInspector(h.opt)
		t.Cleanup(func() { _ = insp.Close() })
		h.waitTaskState(t, insp, tasks.QueuePolls, id, 20*time.Second, func(ti *asynq.TaskInfo) bool {
			return ti.State == asynq.TaskStateCompleted
		})
	})

	g = &heldFeeds{PollGraph: g.PollGraph, hold: g.hold, release: make(chan struct{}), entered: make(chan string, 4)}
	pp.Graph = g
	released = false
	t.Run("two slots", func(t *testing.T) {
		h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Poll = worker.NewPollHandler(pp) })
		enqueuePoll(slow1)
		waitEntered(slow1)
		second := enqueuePoll(slow2)
		insp := asynq.NewInspector(h.opt)
		t.Cleanup(func() { _ = insp.Close() })
		h.waitTaskState(t, insp, tasks.QueuePolls, second, 15*time.Second, func(ti *asynq.TaskInfo) bool {
			return ti.State == asynq.TaskStateRetry && strings.Contains(ti.LastErr, "poll slot")
		})
		// A webhook item for the other Page runs in the slot left.
		c := h.addComments(other, 1, "")[0]
		if out, err := h.enq.EnqueueWebhookItem(ctx, tasks.WebhookItem{PageID: other, Kind: tasks.KindComment, ID: c.Target.ID}); err != nil || out != tasks.Enqueued {
			t.Fatalf("enqueue webhook item: %v %v", out, err)
		}
		h.waitSent(t, []tasks.Reply{c}, 20*time.Second)
		select {
		case p := <-g.entered:
			t.Fatalf("a second poll (%s) ran while the first held the only poll slot", p)
		default:
		}
		// Once the first is done, the second runs.
		release()
		waitEntered(slow2)
		h.waitTaskState(t, insp, tasks.QueuePolls, second, 20*time.Second, func(ti *asynq.TaskInfo) bool {
			return ti.State == asynq.TaskStateCompleted
		})
	})
}

// TestShutdownStopsPolls: a worker that stops ends its polls at once (they
// can take minutes) instead of leaving them to asynq's shutdown timeout, so
// the poll's lease is given back and its task put back, before Shutdown
// returns.
func TestShutdownStopsPolls(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 59})
	pages := pollPages(h)
	page := pages[0].ID
	pp := h.pollParams(pages)
	g := &heldFeeds{PollGraph: pp.Graph, hold: map[string]bool{page: true}, release: make(chan struct{}), entered: make(chan string, 4)}
	t.Cleanup(func() { close(g.release) })
	pp.Graph = g
	w := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Poll = worker.NewPollHandler(pp)
		p.ShutdownTimeout = time.Minute // far longer than the test waits
	})
	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	b, _ := json.Marshal(tasks.Poll{PageID: page})
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.TaskID("poll:stop"), asynq.Queue(tasks.QueuePolls)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.entered:
	case <-time.After(15 * time.Second):
		t.Fatal("the poll did not start")
	}
	done := make(chan struct{})
	go func() {
		w.Shutdown(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown waited for the poll")
	}
	ctx := context.Background()
	if _, ok, err := h.ledger.TryLease(ctx, page, "poll", time.Minute); err != nil || !ok {
		t.Fatalf("the poll's lease is still held after Shutdown (%v)", err)
	}
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	ti, err := insp.GetTaskInfo(tasks.QueuePolls, "poll:stop")
	if err != nil || ti.State != asynq.TaskStateRetry || !strings.Contains(ti.LastErr, "worker stopped") || ti.Retried != 0 {
		t.Fatalf("poll task after Shutdown: %+v %v", ti, err)
	}
}

// waitTaskState waits until the task id in queue satisfies ok.
func (h *harness) waitTaskState(t *testing.T, insp *asynq.Inspector, queue, id string, timeout time.Duration, ok func(*asynq.TaskInfo) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ti, err := insp.GetTaskInfo(queue, id)
		if err == nil && ok(ti) {
			return
		}
		if time.Now().After(deadline) {
			if err != nil {
				t.Fatalf("task %s: %v", id, err)
			}
			t.Fatalf("task %s after %v: state %v, last error %q", id, timeout, ti.State, ti.LastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWebhookItemsHoldNoReplySlots: a flood of webhook items, each waiting
// for its Page's read slot (reads paced at the Page's rate), does not take
// the slots replies need: two Pages at 4/s with a backlog each send at their
// rate throughout, with 5 worker slots. (With one pool of slots for both, the
// Pages sent 21 and 24 in the 10 s; in a longer run one sent nothing in 20 s.)
func TestWebhookItemsHoldNoReplySlots(t *testing.T) {
	t.Parallel() // mostly waits: two Pages at 4/s
	if testing.Short() {
		t.Skip("long")
	}
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 47})
	for i := range h.pages {
		h.pages[i].Rate, h.pages[i].Burst = config.Rate{N: 4, Per: time.Second}, 1
	}
	pages := pollPages(h)
	for i := range pages {
		pages[i].Rate, pages[i].Burst = h.pages[i].Rate, 1
		pages[i].DefaultText = defaultText
	}
	a, b := h.pages[0].ID, h.pages[1].ID
	ctx := context.Background()
	for _, r := range append(h.addComments(a, 80, "a"), h.addComments(b, 80, "b")...) {
		if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{a, b} {
		for _, c := range h.addComments(p, 100, "") {
			if _, err := h.enq.EnqueueWebhookItem(ctx, tasks.WebhookItem{PageID: p, Kind: tasks.KindComment, ID: c.Target.ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	h.startWorkerOn(t, h.opt, 5, func(p *worker.Params) { p.Poll = worker.NewPollHandler(h.pollParams(pages)) })
	const warmUp, window = 3 * time.Second, 10 * time.Second
	start := time.Now()
	time.Sleep(warmUp + window)
	for _, page := range []string{a, b} {
		n := 0
		for _, at := range h.sb.CallLog(page) {
			if d := at.Sub(start); d >= warmUp && d < warmUp+window {
				n++
			}
		}
		t.Logf("page %s: %d sends in %s", page, n, window)
		if want := 0.85 * 4 * window.Seconds(); float64(n) < want {
			t.Errorf("page %s sent %d in %s at 4/s beside a flood of webhook items, want at least %.0f", page, n, window, want)
		}
	}
}
