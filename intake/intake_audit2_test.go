package intake

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// TestDryRunTaskReadError: a dry run that cannot read the reply's task
// says so, rather than listing the reply as one with no task queued.
func TestDryRunTaskReadError(t *testing.T) {
	in, _ := redisIntake(t)
	ctx := context.Background()
	b := in.NewBatch(&config.Page{ID: "100", DefaultText: "Thanks!"}, tasks.SourcePoll, true)
	if _, err := b.Add(ctx, commentItem("1_1", time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := in.Enqueuer.Inspector.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err == nil {
		t.Fatalf("dry run that cannot read the task: no error, replies %+v", b.Report().Replies)
	}
}
