package worker_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestPollResultInMonitor: a poll that finds the Page's token broken pauses
// the Page, and its task, completed, says so in its result, which the
// monitor shows beside it; before, it showed a poll completed with nothing
// to say, and nothing in the monitor told of the broken Page when no reply
// was queued. A poll that runs says what it read and queued.
func TestPollResultInMonitor(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 12})
	page := h.pages[0].ID
	rs := h.addComments(page, 5, "Thanks!")
	pages := pollPages(h)
	pages[0].DefaultText = "Thanks!"
	h.startPollingWorker(t, pages, worker.NewPoller(h.pollParams(pages)))
	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	poll := func(id string) *asynq.TaskInfo {
		t.Helper()
		b, _ := json.Marshal(tasks.Poll{PageID: page})
		if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.TaskID(id), asynq.Queue(tasks.QueuePolls), asynq.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(20 * time.Second); ; {
			ti, err := insp.GetTaskInfo(tasks.QueuePolls, id)
			if err == nil && ti.State == asynq.TaskStateCompleted {
				return ti
			}
			if time.Now().After(deadline) {
				t.Fatalf("poll %s not completed: %+v %v", id, ti, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if ti := poll("poll:test:1"); !strings.Contains(string(ti.Result), "queued 5") {
		t.Errorf("a poll that ran: result %q, want its counts", ti.Result)
	}
	// The replies sent first: a send meeting the broken token would pause
	// the Page before the next poll, which then would not run.
	h.waitSent(t, rs, 20*time.Second)
	h.sb.BreakToken(page, true)
	if ti := poll("poll:test:2"); !strings.HasPrefix(string(ti.Result), "stopped: page paused: page_broken") {
		t.Errorf("the poll that found the token broken: result %q", ti.Result)
	}
	if ti := poll("poll:test:3"); !strings.HasPrefix(string(ti.Result), "not run: page paused: page_broken") {
		t.Errorf("a poll of the paused Page: result %q", ti.Result)
	}
}
