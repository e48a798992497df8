package worker_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// pollWorker starts a worker whose config (its replies' and its polls')
// has pages; t's cleanup shuts it down.
func pollWorker(t *testing.T, h *harness, pages []config.Page) *worker.Worker {
	t.Helper()
	return h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) {
		p.Pages = pages
		p.Poll = worker.NewPollHandler(h.pollParams(pages))
	})
}

// TestPollOfPageAddedInRollingUpdate_audit19: a Page just added to the config
// gets its poll at start from a scheduler on the new config while workers on
// the old one still run (a rolling update). A worker that does not know the
// Page retries the poll, as it retries a reply or a webhook item of such a
// Page, instead of archiving it: a worker with the new config reads the
// Page then. Archived at once, the Page on a long schedule (here @every 1h)
// was not read until its next slot, although a start never waits out a long
// schedule.
func TestPollOfPageAddedInRollingUpdate_audit19(t *testing.T) {
	r := newRollout(t, 1901, "19010001")
	h, pages, page, comment, old, client, insp := r.h, r.pages, r.page, r.comment, r.old, r.client, r.insp
	slot := time.Now().Truncate(time.Second)
	b, _ := json.Marshal(tasks.Poll{PageID: page, Slot: slot.Unix()})
	id := tasks.PollTaskID(page, slot)
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.TaskID(id), asynq.Queue(tasks.QueuePolls),
		asynq.MaxRetry(25), asynq.Retention(time.Hour)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueuePolls, id)
		if err == nil && ti.State == asynq.TaskStateArchived {
			t.Fatalf("poll of a Page the worker does not know yet archived: %s", ti.LastErr)
		}
		if err == nil && ti.State == asynq.TaskStateCompleted {
			t.Fatalf("poll of a Page the worker does not know yet completed without reading it")
		}
		if err == nil && ti.Retried >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("poll not retried: %+v %v", ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	old.Shutdown(context.Background())

	pollWorker(t, h, pages)
	deadline = time.Now().Add(20 * time.Second)
	for !queued(t, h, "comment:"+comment) {
		if time.Now().After(deadline) {
			ti, err := insp.GetTaskInfo(tasks.QueuePolls, id)
			t.Fatalf("the worker with the new config did not poll the Page: no reply task; poll task %+v %v", ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestArchivedPollOfPageAddedRunsAtStart_audit19: the workers of a rolling
// update take their new config later than the poll's retries last (a
// scheduler role updated before the worker role), so the poll at start of a
// Page just added is archived by workers that do not know the Page. The start
// of a worker with the Page runs it again (RunArchivedPollsOfPages), and it
// reads the Page; an older poll of the Page archived so, whose later slot
// was due by then, stays archived (run, the worker would skip it: no Graph
// read).
// Seen failing before the fix: nothing ran such a poll again, and a Page on
// a long schedule waited for its next slot.
func TestArchivedPollOfPageAddedRunsAtStart_audit19(t *testing.T) {
	r := newRollout(t, 1902, "19020001")
	h, pages, page, comment, insp := r.h, r.pages, r.page, r.comment, r.insp
	ids := r.archivePolls(t)

	ctx := context.Background()
	if n, err := worker.RunArchivedPollsOfPages(ctx, insp, map[string]bool{page: true}); err != nil || n[page] != 1 {
		t.Fatalf("run archived polls: %v %v, want 1 of %s", n, err, page)
	}
	pollWorker(t, h, pages)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueuePolls, ids[0])
		if err == nil && ti.State == asynq.TaskStateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("archived poll run again did not complete: %+v %v", ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !queued(t, h, "comment:"+comment) {
		t.Errorf("the Page's archived poll at start run again: no reply task for its comment")
	}
	if ti, err := insp.GetTaskInfo(tasks.QueuePolls, ids[1]); err != nil || ti.State != asynq.TaskStateArchived {
		t.Errorf("the Page's older archived poll: %+v %v; want it left archived", ti, err)
	}
	if n := h.sb.Calls()[sandbox.EndpointFeed]; n != 1 {
		t.Errorf("%d feed reads, want 1: the latest poll reads the Page once", n)
	}
}

// rollout is a rolling update's start: a Page of the harness polled @every
// 1h, with one comment to reply to, and a worker still on the old config
// (another Page only), with an asynq client and inspector.
type rollout struct {
	h             *harness
	pages         []config.Page
	page, comment string
	old           *worker.Worker
	client        *asynq.Client
	insp          *asynq.Inspector
}

func newRollout(t *testing.T, seed int64, commenter string) rollout {
	t.Helper()
	r := rollout{h: newHarness(t, sandbox.Options{Pages: 1, Seed: seed})}
	r.pages = commentPages(r.h)
	r.pages[0].Schedule = "@every 1h"
	r.page = r.pages[0].ID
	post := r.h.sb.AddPost(r.page, sandbox.User{ID: r.page}, "news", time.Now().Add(-time.Hour))
	r.comment = r.h.sb.AddComment(post, sandbox.User{ID: commenter, Name: "Ann First"}, "hello", time.Now().Add(-time.Minute))
	oldPages := []config.Page{{ID: "1000000000000001", AccessToken: "other-page-token", Schedule: "@every 1h",
		Rate: config.Rate{N: 10, Per: time.Second}, Burst: 1, ReplyTo: []string{config.ReplyComments}, DefaultText: defaultText}}
	r.old = pollWorker(t, r.h, oldPages)
	r.client = asynq.NewClient(r.h.opt)
	t.Cleanup(func() { _ = r.client.Close() })
	r.insp = asynq.NewInspector(r.h.opt)
	t.Cleanup(func() { _ = r.insp.Close() })
	return r
}

// archivePolls has the worker on the old config archive two polls of the
// Page, as a worker without it does: the current slot's and a stale one
// (its next slot was due an hour ago), and shuts that worker down. It
// returns their TaskIDs, the current's first.
func (r rollout) archivePolls(t *testing.T) []string {
	t.Helper()
	now := time.Now().Truncate(time.Second)
	var ids []string
	for _, slot := range []time.Time{now, now.Add(-2 * time.Hour)} {
		b, _ := json.Marshal(tasks.Poll{PageID: r.page, Slot: slot.Unix()})
		id := tasks.PollTaskID(r.page, slot)
		if _, err := r.client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.TaskID(id), asynq.Queue(tasks.QueuePolls),
			asynq.MaxRetry(1), asynq.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		deadline := time.Now().Add(20 * time.Second)
		for {
			ti, err := r.insp.GetTaskInfo(tasks.QueuePolls, id)
			if err == nil && ti.State == asynq.TaskStateArchived {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("poll %s not archived by the worker without its Page: %+v %v", id, ti, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	r.old.Shutdown(context.Background())
	return ids
}
