package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestArchivedReplyReplacedAtMostMaxReplacements: a reply Graph keeps
// refusing with a transient answer (code 2, a person who blocked the Page) is
// archived once its retries are used up (max_retry 1: 2 sends), and the
// worker counts it (tasks.Ledger.CountRanOut). A poll that finds the comment
// again (every poll of a post read to its end, every full read) replaces the
// archived task with a new one, with new retries; once
// tasks.MaxReplacements+1 tasks ran out, the next find records the target as
// failed for good, with the last error, and finding it again queues nothing.
// Before, it was replaced at every find, for the whole reply window: 6 finds,
// 12 sends, about 11 an hour on a busy giveaway post for each such person.
//
// "archive cleared": the same, with an operator clearing the monitor's
// Archived tab (Delete / "Delete all"; asynq trims its archive past 10,000
// tasks too) between finds. Before, the cap counted only replacements of an
// archived task that still existed, so a find after a delete queued a fresh
// task, uncounted, with a full set of retries: 8 finds sent the blocked
// person's reply 14 times (cap 8).
func TestArchivedReplyReplacedAtMostMaxReplacements(t *testing.T) {
	for _, tc := range []struct {
		name  string
		finds int
		clear bool
	}{{"archive kept", 6, false}, {"archive cleared", 8, true}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 79})
			insp := asynq.NewInspector(h.opt)
			t.Cleanup(func() { _ = insp.Close() })
			h.enq.Inspector = insp // as cmd/pagereply wires it
			page := h.pages[0].ID
			r := h.addComments(page, 1, "Thanks")[0]
			// Code 2 to this comment's sends, as Meta answers for a person
			// who blocked the Page.
			g := &downGraph{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), only: r.Target.ID}
			g.down.Store(true)
			h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) {
				p.Graph, p.MaxRetry = g, 1
				p.BackoffBase, p.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
			})
			ctx := context.Background()
			var outcomes []tasks.Outcome
			for i := range tc.finds {
				o, _, err := h.enq.Enqueue(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				outcomes = append(outcomes, o)
				if o != tasks.Enqueued {
					continue
				}
				h.waitArchived(t, r, 15*time.Second)
				if tc.clear && i%2 == 1 { // the operator clears the Archived tab now and then
					if err := insp.DeleteTask(tasks.QueueReplies, r.Target.String()); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := (tasks.MaxReplacements + 1) * 2
			if n := int(g.sends.Load()); n != want {
				t.Errorf("the blocked person's reply was sent %d times, want %d (%d tasks of 2 attempts); outcomes %v", n, want, tasks.MaxReplacements+1, outcomes)
			}
			if last := outcomes[len(outcomes)-1]; last != tasks.AlreadyFailed {
				t.Errorf("outcomes %v, want the last finds told failed", outcomes)
			}
			e, err := h.ledger.Get(ctx, page, r.Target)
			if err != nil || e.Status != tasks.StatusFailed || !strings.Contains(e.Reason, "given up") || !strings.Contains(e.Reason, "unexpected error") {
				t.Errorf("ledger %+v (%v), want failed, given up, with the last error", e, err)
			}
		})
	}
}

// TestRollingUpdateNotCountedAsRanOut: a reply whose Page a worker of the old
// config lacks runs out of retries there and is archived; every start of a
// new worker runs such replies again (RunArchivedOfPages), and an old worker
// that takes the rerun archives it again at once. None of that is Graph
// refusing the reply, and none of it counts toward tasks.MaxReplacements:
// after four such runs, the comment found again once the rollout is done is
// queued and sent. Seen failing with every archive counted: "given up after
// its task ran out of retries 4 times", a reply Graph was never asked to send
// (from the review of the session's diff).
func TestRollingUpdateNotCountedAsRanOut(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 2204})
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	h.enq.Inspector = insp
	h.enq.MaxRetry = 1
	page := h.pages[0]
	r := h.addComments(page.ID, 1, "Thanks!")[0]
	ctx := context.Background()
	old := h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Pages = []config.Page{{ID: "1000000000000001", AccessToken: "other-page-token", Rate: config.Rate{N: 10, Per: time.Second}, Burst: 1}}
		p.MaxRetry = 1
		p.BackoffBase, p.BackoffMax = 10*time.Millisecond, 20*time.Millisecond
	})
	if o, _, err := h.enq.Enqueue(ctx, r); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", o, err)
	}
	failed := func() int {
		t.Helper()
		qi, err := insp.GetQueueInfo(tasks.QueueReplies)
		if err != nil {
			t.Fatal(err)
		}
		return qi.FailedTotal
	}
	for run := 1; run <= 4; run++ {
		h.waitTask(t, r, 20*time.Second, nil, asynq.TaskStateArchived)
		if run < 4 {
			// A new worker starts: it runs the Pages' archived replies again.
			before := failed()
			if n, err := worker.RunArchivedOfPages(ctx, h.enq, map[string]bool{page.ID: true}); err != nil || n[page.ID] != 1 {
				t.Fatalf("run archived: %v %v, want 1 run", n, err)
			}
			// The old worker fails the rerun (then archives it, perhaps at
			// once): the next wait is for that archive, not this one. (Waiting
			// to see the task leave the archived state could miss a rerun
			// that came and went between two looks, and wait for ever.)
			for deadline := time.Now().Add(20 * time.Second); failed() == before; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("run %d: the rerun never failed on the old worker", run)
				}
			}
		}
	}
	if v, err := h.ledger.Client().Get(ctx, h.ledger.PageKey(page.ID, "ranout:"+r.Target.String())).Result(); err == nil {
		t.Errorf("the archives of a worker lacking the Page were counted as runs out of retries: %q", v)
	}
	old.Shutdown(ctx)
	h.startWorkerOn(t, h.opt, 2) // the rollout is done: every worker has the Page
	o, _, err := h.enq.Enqueue(ctx, r)
	if err != nil || o != tasks.Enqueued {
		e, _ := h.ledger.Get(ctx, page.ID, r.Target)
		t.Fatalf("the comment found again after the rollout: %v %v (ledger %s %q), want it queued", o, err, e.Status, e.Reason)
	}
	h.waitSent(t, []tasks.Reply{r}, 20*time.Second)
	h.checkExactlyOnce(t, []tasks.Reply{r})
}
