package worker

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestRunTasksSkipsMovedTasks: a task listed as put back that has moved
// meanwhile (due, and forwarded to its queue by a worker; running; or gone) needs no
// running: runTasks passes over it without an error and counts only the
// tasks it ran, so a wake-up racing a worker's forwarder does not fail.
func TestRunTasksSkipsMovedTasks(t *testing.T) {
	db, client, insp := newQueueDB(t)
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, []byte("{}")), asynq.Queue(tasks.QueueReplies), asynq.TaskID("pending")); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, []byte("{}")), asynq.Queue(tasks.QueueReplies), asynq.TaskID("due"), asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// One a worker is running (asynq's task record says so).
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, []byte("{}")), asynq.Queue(tasks.QueueReplies), asynq.TaskID("running"), asynq.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Client.HSet(context.Background(), "asynq:{"+tasks.QueueReplies+"}:t:running", "state", "active").Err(); err != nil {
		t.Fatal(err)
	}
	ran, err := runTasks(insp, tasks.QueueReplies, []string{"pending", "gone", "running", "due"}, []string{"1", "1", "1", "1"})
	if err != nil {
		t.Fatalf("runTasks: %v, want the moved tasks passed over", err)
	}
	if ran["1"] != 1 {
		t.Fatalf("ran %v, want the one task still waiting", ran)
	}
	// Any other refusal (here, a queue asynq does not know) is the caller's.
	if _, err := runTasks(insp, "no-such-queue", []string{"x"}, []string{"1"}); err == nil {
		t.Fatal("runTasks on an unknown queue: no error")
	}
}

// newQueueDB returns a fresh test database with an asynq client and
// inspector on it, closed when t ends.
func newQueueDB(t *testing.T) (*redistest.DB, *asynq.Client, *asynq.Inspector) {
	t.Helper()
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = insp.Close() })
	return db, client, insp
}
