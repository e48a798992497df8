package worker

import (
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
)

// TestRetryDelayHonoursRetryAfter_audit21: a poll task that failed on a
// transient answer carrying Retry-After (or a time to regain access) is
// tried again no sooner than it says; without one, the usual backoff.
func TestRetryDelayHonoursRetryAfter_audit21(t *testing.T) {
	w := New(Params{BackoffBase: time.Millisecond, BackoffMax: time.Millisecond})
	err := fmt.Errorf("poll page 1: %w", &graph.Error{HTTPStatus: 503, Class: graph.ClassTransient, RetryAfter: 2 * time.Minute})
	poll := asynq.NewTask(tasks.TypePoll, nil)
	if d := w.retryDelay(0, err, poll); d < 2*time.Minute {
		t.Fatalf("delay %s after an answer asking 2m", d)
	}
	if d := w.retryDelay(0, &graph.Error{HTTPStatus: 503, Class: graph.ClassTransient}, poll); d > 2*time.Millisecond {
		t.Fatalf("delay %s without Retry-After, want the backoff", d)
	}
}
