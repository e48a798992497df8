package tasks

import (
	"context"
	"errors"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestCountRepliesByPageCanceled: asynq's Inspector takes no context, so the
// count stops on its own once ctx ends (an operator's Ctrl-C, a status
// deadline) and says why, rather than reading the whole queue.
func TestCountRepliesByPageCanceled(t *testing.T) {
	db := redistest.New(t)
	insp := asynq.NewInspectorFromRedisClient(db.Client)
	if err := RegisterQueues(context.Background(), db.Client); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := CountRepliesByPage(ctx, insp, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("count with its context ended = %v, want context.Canceled", err)
	}
}
