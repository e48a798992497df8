package worker

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/tasks"
)

// TestBusyPollsComeBackSpread: polls put back because every poll slot is
// taken come back at moments spread over the next pollBusyDelay. With a tenth
// of it, a backlog of thousands of polls (5,000 Pages polled at start) came
// back within half a second, was put back again at once by the spare slots,
// and the poll slots sat idle most of every 5 s: half the polls of the first
// minutes were dropped as superseded.
func TestBusyPollsComeBackSpread(t *testing.T) {
	w := New(Params{Concurrency: 4, Poll: asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return nil })})
	for range cap(w.pollSlots) {
		w.pollSlots <- struct{}{}
	}
	b, _ := json.Marshal(tasks.Poll{PageID: "1983306698425200"})
	lo, hi := 2*pollBusyDelay, 0*pollBusyDelay
	for range 200 {
		var de *delayError
		if err := w.gatePoll(context.Background(), asynq.NewTask(tasks.TypePoll, b)); !errors.As(err, &de) {
			t.Fatalf("poll with every slot taken: %v, want it put back", err)
		}
		lo, hi = min(lo, de.d), max(hi, de.d)
	}
	if lo < pollBusyDelay || hi > 2*pollBusyDelay {
		t.Fatalf("put back for %s to %s, want between %s and %s", lo, hi, pollBusyDelay, 2*pollBusyDelay)
	}
	if hi-lo < pollBusyDelay/2 {
		t.Fatalf("200 polls put back for %s to %s: they come back together", lo, hi)
	}
}
