package worker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestItemsOnLastRunPassTheShare: a webhook item whose retry count is at its
// max (one queued by an older pagereply, or run again from the archive) is
// archived by asynq whatever error it returns, a put-back included. So when
// its Page's items hold their share of the worker's slots, it is let in
// rather than put back: put back, it was archived and its comment never got
// a reply. Here every item is on its last run, 12 of them for one Page whose
// reads take 1.5 s, on 4 slots (a share of 3).
func TestItemsOnLastRunPassTheShare(t *testing.T) {
	t.Parallel() // mostly waits
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 4545})
	pages := pollPages(h)
	pages[0].Rate.N, pages[0].DefaultText = 10, defaultText
	h.pages[0].Rate.N = 10
	a := pages[0]
	ctx := context.Background()
	cs := h.addComments(a.ID, 12, "")
	for _, c := range cs {
		it := tasks.WebhookItem{PageID: a.ID, Kind: tasks.KindComment, ID: c.Target.ID, ReceivedAt: time.Now().UnixMilli()}
		b, err := json.Marshal(it)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.enq.Client.EnqueueContext(ctx, asynq.NewTask(tasks.TypeWebhookItem, b), asynq.TaskID(it.TaskID()),
			asynq.Queue(tasks.QueuePolls), asynq.MaxRetry(0), asynq.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	pp := h.pollParams(pages)
	pp.Graph = slowReadGraph{PollGraph: pp.Graph, token: a.AccessToken, delay: 1500 * time.Millisecond}
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Poll = worker.NewPollHandler(pp) })
	h.waitSent(t, cs, 60*time.Second)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	if archived, err := insp.ListArchivedTasks(tasks.QueuePolls); err != nil && err != asynq.ErrQueueNotFound {
		t.Fatal(err)
	} else if len(archived) > 0 {
		t.Errorf("%d webhook items on their last run archived, e.g. %s: %s", len(archived), archived[0].ID, archived[0].LastErr)
	}
}
