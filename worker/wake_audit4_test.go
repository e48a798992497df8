package worker

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/tasks"
)

// TestEachTaskReadsEveryPage: with more tasks waiting than one page of the
// Inspector holds, eachTask reads each of them once, page after page (a
// put-back past the first page is woken too, and reading does not go round
// the first page for ever).
func TestEachTaskReadsEveryPage(t *testing.T) {
	_, client, insp := newQueueDB(t)
	const n = wakePageSize + 3
	for i := range n {
		if _, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, nil), asynq.Queue(tasks.QueueReplies), asynq.TaskID(strconv.Itoa(i)), asynq.ProcessIn(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen, calls := map[string]bool{}, 0
	err := eachTask(ctx, insp.ListScheduledTasks, tasks.QueueReplies, func(ti *asynq.TaskInfo) {
		seen[ti.ID] = true
		if calls++; calls > 3*n {
			cancel() // reading round and round
		}
	})
	if err != nil || len(seen) != n || calls != n {
		t.Fatalf("eachTask: %v, %d calls for %d tasks, want each of %d once", err, calls, len(seen), n)
	}
}

// TestEachTaskStopsWhenCanceled: a wake-up whose context is done (the
// worker stopping) reads nothing more and says why.
func TestEachTaskStopsWhenCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	lists := 0
	list := func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error) {
		lists++
		return nil, nil
	}
	if err := eachTask(ctx, list, tasks.QueueReplies, func(*asynq.TaskInfo) {}); !errors.Is(err, context.Canceled) || lists != 0 {
		t.Fatalf("eachTask with its context done: %v after %d reads, want context.Canceled before any", err, lists)
	}
}
