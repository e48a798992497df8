package intake

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// redisIntake returns an Intake on a test database of its own, with an
// Inspector, and its asynq connection.
func redisIntake(t *testing.T) (*Intake, asynq.RedisClientOpt) {
	t.Helper()
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	client, insp := asynq.NewClient(opt), asynq.NewInspector(opt)
	t.Cleanup(func() { client.Close(); insp.Close() })
	ledger := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	return &Intake{Ledger: ledger, Enqueuer: &tasks.Enqueuer{Client: client, Ledger: ledger, MaxRetry: 3, Inspector: insp}}, opt
}

func commentItem(id string, created time.Time) Item {
	return Item{Target: tasks.Target{Kind: tasks.KindComment, ID: id}, From: graph.User{ID: "7", Name: "Ana Lopez"},
		Created: created, CanReplyPrivately: true}
}

// TestBatchFlushesAtBatchSize: the BatchSize-th reply flushes the batch, and
// a flush empties it, so the next one does not queue the same replies again.
func TestBatchFlushesAtBatchSize(t *testing.T) {
	in, _ := redisIntake(t)
	ctx := context.Background()
	b := in.NewBatch(&config.Page{ID: "100", DefaultText: "Thanks!"}, tasks.SourcePoll, false)
	for i := range BatchSize {
		if reason, err := b.Add(ctx, commentItem(fmt.Sprintf("1_%d", i), time.Now().Add(-time.Minute))); reason != "" || err != nil {
			t.Fatalf("add %d: %q, %v", i, reason, err)
		}
		if want := (i + 1) % BatchSize; b.Pending() != want {
			t.Fatalf("after %d adds: %d pending, want %d", i+1, b.Pending(), want)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := b.Report().Enqueued(); n != BatchSize || len(b.Report().Outcomes) != 1 {
		t.Fatalf("outcomes %v, want %d enqueued and nothing else", b.Report().Outcomes, BatchSize)
	}
}

// TestBatchLedgerSettled: replies the ledger has sent or failed for good
// count as already replied, in a real run and in a dry run.
func TestBatchLedgerSettled(t *testing.T) {
	in, _ := redisIntake(t)
	ctx := context.Background()
	page := &config.Page{ID: "100", DefaultText: "Thanks!"}
	now := time.Now()
	sent, failed, fresh := commentItem("1_1", now), commentItem("1_2", now), commentItem("1_3", now)
	if err := in.Ledger.MarkSent(ctx, "100", sent.Target, "m.1"); err != nil {
		t.Fatal(err)
	}
	if err := in.Ledger.MarkFailed(ctx, "100", failed.Target, "test: failed for good"); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		b := in.NewBatch(page, tasks.SourcePoll, dry)
		for _, it := range []Item{sent, failed, fresh} {
			if _, err := b.Add(ctx, it); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatalf("dry run %v: %v", dry, err)
		}
		rep := b.Report()
		if rep.Skipped[SkipAlreadyReplied] != 2 {
			t.Errorf("dry run %v: skipped %v, outcomes %v; want 2 already replied", dry, rep.Skipped, rep.Outcomes)
		}
		if dry && (len(rep.Replies) != 1 || rep.Replies[0].Target != fresh.Target) {
			t.Errorf("dry run lists %+v, want only %s", rep.Replies, fresh.Target)
		}
		if !dry && (rep.Enqueued() != 1 || len(rep.Outcomes) != 1) {
			t.Errorf("outcomes %v, want 1 enqueued", rep.Outcomes)
		}
	}
}

// TestDryRunListsAuthorAndTask: a dry run names each reply's author, and the
// state of its task when one is queued already; with no queue in Redis yet
// it lists the replies, not an error.
func TestDryRunListsAuthorAndTask(t *testing.T) {
	in, _ := redisIntake(t)
	ctx := context.Background()
	page := &config.Page{ID: "100", DefaultText: "Thanks!"}
	it := commentItem("1_1", time.Now())
	b := in.NewBatch(page, tasks.SourcePoll, true)
	if _, err := b.Add(ctx, it); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatalf("dry run with no queue: %v", err)
	}
	if rs := b.Report().Replies; len(rs) != 1 || rs[0].FromID != "7" || rs[0].FromName != "Ana Lopez" || rs[0].Text != "Thanks!" || rs[0].Task != "" {
		t.Fatalf("dry run lists %+v; want one reply from 7, Ana Lopez, no task", rs)
	}
	real := in.NewBatch(page, tasks.SourcePoll, false)
	if _, err := real.Add(ctx, it); err != nil {
		t.Fatal(err)
	}
	if err := real.Flush(ctx); err != nil || real.Report().Enqueued() != 1 {
		t.Fatalf("enqueue: %v, %v", err, real.Report().Outcomes)
	}
	b = in.NewBatch(page, tasks.SourcePoll, true)
	if _, err := b.Add(ctx, it); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if rs := b.Report().Replies; len(rs) != 1 || rs[0].Task != "pending" {
		t.Fatalf("dry run lists %+v; want its task pending", rs)
	}
}

// TestBatchFlushError: a flush that cannot reach Redis says so, so the poll
// does not record the replies as handled.
func TestBatchFlushError(t *testing.T) {
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { dead.Close() })
	client := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: time.Second})
	t.Cleanup(func() { client.Close() })
	ledger := tasks.NewLedger(dead, tasks.LedgerOptions{})
	in := &Intake{Ledger: ledger, Enqueuer: &tasks.Enqueuer{Client: client, Ledger: ledger, MaxRetry: 3}}
	b := in.NewBatch(&config.Page{ID: "100", DefaultText: "Thanks!"}, tasks.SourcePoll, false)
	if _, err := b.Add(context.Background(), commentItem("1_1", time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(context.Background()); err == nil {
		t.Fatal("flush with Redis down: no error")
	}
}
