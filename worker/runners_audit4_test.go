package worker

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// TestRunnersCountLive: a runner counts as live while it runs a task (the
// count TestRunners' idle check relies on to see runners exit), and none is
// once idle.
func TestRunnersCountLive(t *testing.T) {
	r := newRunners(20 * time.Millisecond)
	var during int64
	if err := r.do(context.Background(), asynq.NewTask("x", nil), func(context.Context, *asynq.Task) error {
		during = r.live.Load()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if during < 1 {
		t.Fatalf("%d runners live while one runs a task", during)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.live.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d runners still live after 10 s idle", r.live.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
