package tasks

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redistest"
)

func TestCountRepliesByPage(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	client := asynq.NewClientFromRedisClient(db.Client)
	insp := asynq.NewInspectorFromRedisClient(db.Client)

	if got, err := CountRepliesByPage(ctx, insp, 0); err != nil || len(got.Pages) != 0 {
		t.Fatalf("no queue yet: %+v %v", got, err)
	}
	enqueue := func(page string, i int, opts ...asynq.Option) {
		t.Helper()
		r := Reply{PageID: page, Target: Target{KindComment, page + "_" + strconv.Itoa(i)}, Text: "hi", Source: SourceAPI}
		payload, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, ReplyTaskOptions(&r, 3, time.Hour)...)
		if _, err := client.EnqueueContext(ctx, asynq.NewTask(TypeReply, payload), opts...); err != nil {
			t.Fatal(err)
		}
	}
	// Page 11: 1,203 pending (more than two Inspector pages), 2 scheduled,
	// 1 archived; Page 22: 3 pending, 1 scheduled.
	for i := range 1203 {
		enqueue("11", i)
	}
	for i := range 3 {
		enqueue("22", i)
	}
	enqueue("11", 5000, asynq.ProcessIn(time.Hour))
	enqueue("11", 5001, asynq.ProcessIn(time.Hour))
	enqueue("22", 5000, asynq.ProcessIn(time.Hour))
	enqueue("11", 6000, asynq.ProcessIn(time.Hour))
	if err := insp.ArchiveTask(QueueReplies, "comment:11_6000"); err != nil {
		t.Fatal(err)
	}
	// A task whose payload names no Page (not written by pagereply).
	if _, err := client.EnqueueContext(ctx, asynq.NewTask(TypeReply, []byte(`{}`)), asynq.Queue(QueueReplies)); err != nil {
		t.Fatal(err)
	}

	got, err := CountRepliesByPage(ctx, insp, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]PageCounts{
		"11": {Pending: 1203, Scheduled: 2, Archived: 1},
		"22": {Pending: 3, Scheduled: 1},
		"":   {Pending: 1},
	}
	if len(got.Pages) != len(want) || len(got.Truncated) != 0 {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for id, w := range want {
		if got.Pages[id] != w {
			t.Errorf("page %q: %+v, want %+v", id, got.Pages[id], w)
		}
	}

	// A limit: each state counts at most that many, and says so.
	got, err = CountRepliesByPage(ctx, insp, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if n := got.Pages["11"].Pending + got.Pages["22"].Pending + got.Pages[""].Pending; n != 1000 || !slices.Equal(got.Truncated, []string{"pending"}) {
		t.Fatalf("limit 1000: %d pending counted, truncated %v", n, got.Truncated)
	}
	// A limit that falls on the last task is no truncation.
	got, err = CountRepliesByPage(ctx, insp, 1207)
	if err != nil || len(got.Truncated) != 0 || got.Pages["11"].Pending != 1203 {
		t.Fatalf("limit 1207: %+v %v", got, err)
	}

	// A task a worker holds counts as active.
	srv := asynq.NewServerFromRedisClient(db.Client, asynq.Config{Concurrency: 1, Queues: map[string]int{QueueReplies: 1},
		LogLevel: asynq.FatalLevel})
	release, held := make(chan struct{}), make(chan struct{}, 1)
	if err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, _ *asynq.Task) error {
		held <- struct{}{}
		<-release
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	defer close(release)
	<-held
	got, err = CountRepliesByPage(ctx, insp, 0)
	if err != nil {
		t.Fatal(err)
	}
	var active, pending int
	for _, c := range got.Pages {
		active, pending = active+c.Active, pending+c.Pending
	}
	if active != 1 || pending != 1206 {
		t.Fatalf("with one task held: %d active, %d pending, want 1 and 1206", active, pending)
	}
}
