package worker_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestGraphOutageUsesNoRetries: Graph fails every send for far longer than
// a reply's retries last (here 2 retries with a 20–100 ms backoff, so a
// reply would be archived within a second). The replies must not be archived:
// after a few failures in a row the Page is paused as graph_down, its
// replies go back to the queue without using retries, and the calls during
// the outage are a few probes, not every reply's every retry. When Graph is
// back, every reply goes out once.
func TestGraphOutageUsesNoRetries(t *testing.T) {
	t.Parallel() // mostly waits through the outage
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 97})
	page := h.pages[0].ID
	rs := h.addComments(page, 20, "Thanks!")
	g := &downGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})}
	g.down.Store(true)
	h.startDownWorker(t, g, 4, 2, 200*time.Millisecond)
	ctx := context.Background()
	for _, r := range rs {
		if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
			t.Fatalf("enqueue: %v %v", o, err)
		}
	}
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	pausedDown := false
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); {
		if _, reason, err := h.ledger.Paused(ctx, page); err != nil {
			t.Fatal(err)
		} else if tasks.PauseKind(reason) == tasks.PauseGraphDown {
			pausedDown = true
		}
		time.Sleep(20 * time.Millisecond)
	}
	info, err := insp.GetQueueInfo(tasks.QueueReplies)
	if err != nil {
		t.Fatal(err)
	}
	if info.Archived != 0 {
		t.Fatalf("%d of %d replies archived during a Graph outage (%s)", info.Archived, len(rs), h.queueSummary())
	}
	if !pausedDown {
		t.Errorf("the Page was never paused as %s during the outage", tasks.PauseGraphDown)
	}
	// The replies put back during the outage, those whose send found Graph
	// down included, say they are held by the pause, so that resume and a
	// lifted pause run them at once (WakePutBacks picks put-backs by that
	// text) rather than at the end of their delay.
	waiting, err := insp.ListRetryTasks(tasks.QueueReplies, asynq.PageSize(len(rs)))
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, ti := range waiting {
		switch {
		case strings.Contains(ti.LastErr, "page paused: "+tasks.PauseGraphDown+": "):
			held++
		case strings.Contains(ti.LastErr, tasks.PauseGraphDown+": "):
			// A send that found Graph down, put back for the outage's
			// pause but not marked as held by it.
			t.Errorf("reply %s put back for the outage, not as held by its pause: %q", ti.ID, ti.LastErr)
		}
	}
	if held == 0 {
		lastErrs := make([]string, 0, len(waiting))
		for _, ti := range waiting {
			lastErrs = append(lastErrs, ti.LastErr)
		}
		t.Errorf("none of the %d replies waiting during the outage is put back for the %s pause: %q", len(waiting), tasks.PauseGraphDown, lastErrs)
	}
	// Without the pause, 20 replies × 3 attempts = 60 calls in the first
	// second alone; with it, the first run of failures and a few probes per
	// pause (200 ms, doubling).
	calls := g.sends.Load()
	if calls > 45 {
		t.Errorf("%d sends tried during 5 s of outage, want a few probes", calls)
	}
	t.Logf("%d sends tried during the outage", calls)

	g.down.Store(false)
	h.waitSent(t, rs, 30*time.Second)
	h.checkExactlyOnce(t, rs)
	if d, reason, err := h.ledger.Paused(ctx, page); err == nil && d > 0 && !strings.HasPrefix(reason, tasks.PauseGraphDown) {
		t.Errorf("Page paused after the outage: %s %q", d, reason)
	}
}

// TestOneFailingReplyIsNoOutage: on a quiet Page, one reply whose own send
// keeps failing transiently (Graph's 1200 about that message, or even code 2)
// is not an outage: it uses its retries and ends archived after
// worker.max_retry failures, and its Page is never paused as graph_down.
// Were its own run of failures an outage, it would be put back without using
// retries for 7 days and pause its Page again and again, holding its polls.
func TestOneFailingReplyIsNoOutage(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	for _, code := range []int{1200, 2} {
		t.Run("code "+strconv.Itoa(code), func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 97})
			page := h.pages[0].ID
			rs := h.addComments(page, 1, "Thanks!")
			g := &downGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), only: rs[0].Target.ID, code: code}
			g.down.Store(true)
			h.startDownWorker(t, g, 2, 10, 100*time.Millisecond)
			ctx := context.Background()
			if o, _, err := h.enq.Enqueue(ctx, rs[0]); err != nil || o != tasks.Enqueued {
				t.Fatalf("enqueue: %v %v", o, err)
			}
			var downSeen time.Duration
			h.waitTask(t, rs[0], 30*time.Second, func() {
				if d, reason, _ := h.ledger.Paused(ctx, page); tasks.PauseKind(reason) == tasks.PauseGraphDown {
					downSeen = max(downSeen, d)
				}
			}, asynq.TaskStateArchived)
			if n := g.sends.Load(); n != 11 {
				t.Errorf("%d sends of the reply, want 11 (max_retry 10)", n)
			}
			if downSeen > 0 {
				t.Errorf("one failing reply paused the Page as graph_down (up to %s)", downSeen)
			}
		})
	}
}

// startDownWorker starts a worker of n slots sending through g, with
// maxRetry, a fast backoff and outage pauses of outagePause.
func (h *harness) startDownWorker(t *testing.T, g *downGraph, n, maxRetry int, outagePause time.Duration) {
	t.Helper()
	h.startWorkerOn(t, h.opt, n, func(p *worker.Params) {
		p.Graph, p.MaxRetry = g, maxRetry
		p.BackoffBase, p.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
		p.OutagePause = outagePause
	})
}

// TestQueuesListedAgainAfterDataLoss: a worker lists its queues in asynq's
// set of queues when it starts, before anything is enqueued, and again after
// Redis lost its data, where asynq's client adds a queue on its first enqueue
// per process only: the monitor, status and the queue metrics (all read with
// asynq's Inspector) would otherwise lose them until a restart.
func TestQueuesListedAgainAfterDataLoss(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 81})
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.QueuesListedEvery = 50 * time.Millisecond })
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	listed := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			qs, err := insp.Queues()
			if err == nil && slices.Contains(qs, tasks.QueueReplies) && slices.Contains(qs, tasks.QueuePolls) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the Inspector lists %v (%v), want replies and polls", what, qs, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	listed("at start")
	if err := h.db.Client.FlushDB(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	listed("after the data loss")
}
