package bench

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
)

// TestRunPollCost: the second poll reads the comments of the posts that got
// new comments, not of every post, and enqueues exactly the new comments.
func TestRunPollCost(t *testing.T) {
	db := redistest.New(t)
	res, err := RunPoll(context.Background(), PollOptions{
		Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}, Posts: 400, Comments: 8000, SmallComments: -1,
		NewComments: 100, TouchedPosts: 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Full
	if got := r.FirstCalls[sandbox.EndpointComments]; got < r.Posts/5 {
		t.Fatalf("first poll made %d comment calls for %d posts", got, r.Posts)
	}
	if got := r.SecondCalls[sandbox.EndpointComments]; got != r.TouchedPosts {
		t.Errorf("second poll made %d comment calls, want %d (the touched posts of %d)", got, r.TouchedPosts, r.Posts)
	}
	if want := (r.Posts + 99) / 100; r.SecondCalls[sandbox.EndpointFeed] != want {
		t.Errorf("second poll made %d feed calls, want %d", r.SecondCalls[sandbox.EndpointFeed], want)
	}
	if r.SecondEnqueued != r.NewComments {
		t.Errorf("second poll enqueued %d, want the %d new comments", r.SecondEnqueued, r.NewComments)
	}
	t.Logf("first: %v in %s (%d enqueued); second: %v in %s (%d enqueued); peak live heap above base %d KiB",
		r.FirstCalls, r.FirstDuration, r.FirstEnqueued, r.SecondCalls, r.SecondDuration, r.SecondEnqueued, r.PeakLiveHeap>>10)
}
