package worker

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
)

// TestArchivedMarkOnCluster_audit19: on a Redis Cluster, archivedMark reads
// asynq's archive key (its queue as hash tag, one slot) without CROSSSLOT
// or MOVED errors, and its mark changes when a task is archived; the round
// of runArchivedOfOwnPages (Ledger.TakeRound, RoundMark) works there too.
func TestArchivedMarkOnCluster_audit19(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	c := redisproc.StartCluster(t, 3)
	opt := asynq.RedisClusterClientOpt{Addrs: c.Addrs()}
	rdb := tasks.NewServerRedisClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	before, err := archivedMark(ctx, rdb, tasks.QueueReplies)
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	ti, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, []byte("x")), asynq.Queue(tasks.QueueReplies), asynq.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := insp.ArchiveTask(tasks.QueueReplies, ti.ID); err != nil {
		t.Fatal(err)
	}
	after, err := archivedMark(ctx, rdb, tasks.QueueReplies)
	if err != nil {
		t.Fatal(err)
	}
	if after == before {
		t.Fatalf("mark %q unchanged by an archived task", after)
	}
	l := tasks.NewLedger(rdb, tasks.LedgerOptions{})
	if took, err := l.TakeRound(ctx, "archived:x", time.Minute); err != nil || !took {
		t.Fatalf("first take: %v %v", took, err)
	}
	if took, err := l.TakeRound(ctx, "archived:x", time.Minute); err != nil || took {
		t.Fatalf("second take: %v %v, want taken", took, err)
	}
	if err := l.SetRoundMark(ctx, "archived:x", after, time.Minute); err != nil {
		t.Fatal(err)
	}
	if m, err := l.RoundMark(ctx, "archived:x"); err != nil || m != after {
		t.Fatalf("round mark %q %v, want %q", m, err, after)
	}
}
