package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestPageAddedGetsItsArchivedPoll_audit19: a rolling update adds a Page on a
// long schedule (@every 1h); a scheduler already on the new config queues
// its poll at start, and workers still on the old one take it until its
// retries run out. The start of a worker with the Page runs that poll again,
// and its comment gets its reply at once, not at the Page's next slot. Seen
// failing before the fix: the worker without the Page archived the poll at
// once, and the start with the Page left it archived.
func TestPageAddedGetsItsArchivedPoll_audit19(t *testing.T) {
	w := newWakeRig(t, "20/s", 0)
	cfg, err := os.ReadFile(w.e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	hourly := strings.Replace(string(cfg), `schedule: "@every 1m"`, `schedule: "@every 1h"`, 1)
	if hourly == string(cfg) {
		t.Fatal("the rig's config has no @every 1m schedule to change")
	}
	if err := os.WriteFile(w.e.cfgPath, []byte(hourly), 0o600); err != nil {
		t.Fatal(err)
	}
	path := w.e.cfgPath + ".without"
	if err := os.WriteFile(path, []byte(strings.Replace(hourly, `id: "`+w.page.ID+`"`, `id: "999"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	post := w.e.sb.AddPost(w.page.ID, sandbox.User{ID: w.page.ID}, "News", time.Now().Add(-time.Hour))
	comment := w.e.sb.AddComment(post, sandbox.User{ID: "7190", Name: "Visitor"}, "hi", time.Now().Add(-time.Minute))

	client := asynq.NewClientFromRedisClient(w.e.db.Client)
	slot := time.Now().Truncate(time.Second)
	b, _ := json.Marshal(tasks.Poll{PageID: w.page.ID, Slot: slot.Unix()})
	id := tasks.StartPollTaskID(w.page.ID, slot.Add(time.Hour))
	if _, err := client.EnqueueContext(context.Background(), asynq.NewTask(tasks.TypePoll, b), asynq.TaskID(id),
		asynq.Queue(tasks.QueuePolls), asynq.MaxRetry(5), asynq.Retention(time.Hour)); err != nil {
		t.Fatal(err)
	}
	p := start(t, "worker", "-c", path)
	insp := asynq.NewInspectorFromRedisClient(w.e.db.Client)
	var ti *asynq.TaskInfo
	eventually(t, 20*time.Second, "the poll tried by a worker without its Page", func() bool {
		ti, err = insp.GetTaskInfo(tasks.QueuePolls, id)
		return err == nil && (ti.State == asynq.TaskStateRetry || ti.State == asynq.TaskStateArchived)
	})
	stop(t, p)
	if ti.State != asynq.TaskStateRetry || !strings.Contains(ti.LastErr, "not configured") {
		t.Errorf("poll after a worker without its Page: %s, %q; want retried, as a reply of a Page the worker lacks is", ti.State, ti.LastErr)
	}
	if ti.State == asynq.TaskStateRetry {
		// Its retries run out while the rolling update goes on.
		if err := insp.ArchiveTask(tasks.QueuePolls, id); err != nil {
			t.Fatal(err)
		}
	}
	p = w.worker(t)
	eventually(t, 15*time.Second, "the comment's reply once the Page is configured", func() bool { return w.e.sb.SendCount(comment) == 1 })
	stop(t, p)
	if !strings.Contains(p.stderr.String(), "polls archived while the Page was not configured run again") {
		t.Errorf("no line about the polls run again:\n%s", p.stderr)
	}
	if d := w.e.sb.Duplicates(); d != 0 {
		t.Fatalf("%d duplicates", d)
	}
}
