package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/tasks"
)

// TestPageAddedSendsItsArchivedItems_audit12: a webhook item queued for a
// Page the workers' config lacked (an api process already on a config that
// adds it) waits, retried, for a worker that has it; one archived meanwhile
// is queued again by the start of such a worker, which sends its reply. Meta
// does not deliver again a change answered 200. Seen failing before the fix:
// the worker without the Page archived the item at once, and the start with
// the Page left it archived: the comment never got its reply.
func TestPageAddedSendsItsArchivedItems_audit12(t *testing.T) {
	w := newWakeRig(t, "20/s", 0)
	item := w.enqueueItem(t, "7100")
	cfg, err := os.ReadFile(w.e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	path := w.e.cfgPath + ".without"
	if err := os.WriteFile(path, []byte(strings.Replace(string(cfg), `id: "`+w.page.ID+`"`, `id: "999"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "worker", "-c", path)
	insp := asynq.NewInspectorFromRedisClient(w.e.db.Client)
	var ti *asynq.TaskInfo
	eventually(t, 20*time.Second, "the item tried by a worker without its Page", func() bool {
		ti, err = insp.GetTaskInfo(tasks.QueuePolls, item.TaskID())
		return err == nil && (ti.State == asynq.TaskStateRetry || ti.State == asynq.TaskStateArchived)
	})
	stop(t, p)
	if ti.State != asynq.TaskStateRetry || !strings.Contains(ti.LastErr, "not configured") {
		t.Errorf("item after a worker without its Page: %s, %q; want retried, as a reply of a Page the worker lacks is", ti.State, ti.LastErr)
	}
	if ti.State == asynq.TaskStateRetry {
		// Its retries run out while the rolling update goes on.
		if err := insp.ArchiveTask(tasks.QueuePolls, item.TaskID()); err != nil {
			t.Fatal(err)
		}
	}
	p = w.worker(t)
	eventually(t, 15*time.Second, "the item's reply once the Page is configured", func() bool { return w.e.sb.SendCount(item.ID) == 1 })
	stop(t, p)
	if !strings.Contains(p.stderr.String(), "webhook items archived while the Page was not configured run again") {
		t.Errorf("no line about the items run again:\n%s", p.stderr)
	}
	if d := w.e.sb.Duplicates(); d != 0 {
		t.Fatalf("%d duplicates", d)
	}
}
