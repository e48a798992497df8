package worker

import (
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
)

// TestRetryDelayHonoursRetryAfterEveryType_audit22: a reply (a comment's
// or a conversation's: one task type) or a webhook item that failed on a
// transient answer carrying Retry-After, using a retry (on its last run, or
// queued more than a week ago), is tried again no sooner than it says, as a
// poll is; without one, the usual backoff. Before, only the poll was.
func TestRetryDelayHonoursRetryAfterEveryType_audit22(t *testing.T) {
	w := New(Params{BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
	asked := &graph.Error{HTTPStatus: 503, Code: 2, Class: graph.ClassTransient, RetryAfter: 2 * time.Minute, Unknown: true}
	for _, typ := range []string{tasks.TypeReply, tasks.TypeWebhookItem, tasks.TypePoll} {
		task := asynq.NewTask(typ, nil)
		err := fmt.Errorf("reply comment:1_2: %w", asked)
		if d := w.retryDelay(0, err, task); d < 2*time.Minute {
			t.Errorf("%s: delay %s after an answer asking 2m", typ, d)
		}
		if d := w.retryDelay(0, &ranOutError{err: err}, task); d < 2*time.Minute {
			t.Errorf("%s: delay %s after an answer asking 2m (ran out)", typ, d)
		}
		if d := w.retryDelay(0, &graph.Error{HTTPStatus: 503, Class: graph.ClassTransient}, task); d > 2*time.Millisecond {
			t.Errorf("%s: delay %s without Retry-After, want the backoff", typ, d)
		}
	}
}

// TestPauseOfAskedWait_audit22: a transient answer that said when to call
// again pauses the Page as graph_down for that time, not doubled, and is
// one that pauses the Page; one without a time pauses nothing.
func TestPauseOfAskedWait_audit22(t *testing.T) {
	err := fmt.Errorf("reply comment:1_2: %w", &graph.Error{HTTPStatus: 503, Code: 2, Class: graph.ClassTransient, RetryAfter: 2 * time.Minute})
	if kind, d, longest := pauseOf(err); kind != tasks.PauseGraphDown || d != 2*time.Minute || longest != 0 {
		t.Errorf("pauseOf = %s %s %s, want graph_down 2m0s 0s", kind, d, longest)
	}
	if !PausesPage(err) {
		t.Error("a transient answer with Retry-After does not pause the Page")
	}
	if PausesPage(&graph.Error{HTTPStatus: 503, Code: 2, Class: graph.ClassTransient}) {
		t.Error("a transient answer without Retry-After pauses the Page")
	}
}
