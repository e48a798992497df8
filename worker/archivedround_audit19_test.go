package worker_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// archiveReads is an asynq.RedisConnOpt whose client counts, for one worker,
// its rounds (the pipelined read of the replies archive's size) and its full
// reads of the replies archive (asynq's listing script).
type archiveReads struct {
	asynq.RedisClientOpt
	rounds, reads atomic.Int64
}

func (o *archiveReads) MakeRedisClient() any {
	c := o.RedisClientOpt.MakeRedisClient().(*redis.Client)
	c.AddHook(o)
	return c
}

const repliesArchive = "asynq:{" + tasks.QueueReplies + "}:archived"

func (*archiveReads) DialHook(next redis.DialHook) redis.DialHook { return next }

func (o *archiveReads) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if c.Name() == "zcard" && fmt.Sprint(c.Args()[1]) == repliesArchive {
				o.rounds.Add(1)
			}
		}
		return next(ctx, cmds)
	}
}

func (o *archiveReads) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.HasPrefix(cmd.Name(), "eval") {
			var archive, taskKeys bool
			for _, a := range cmd.Args() {
				s, _ := a.(string)
				archive = archive || s == repliesArchive
				taskKeys = taskKeys || s == "asynq:{"+tasks.QueueReplies+"}:t:"
			}
			if archive && taskKeys {
				o.reads.Add(1)
			}
		}
		return next(ctx, cmd)
	}
}

// TestArchiveReadOncePerChangeAcrossWorkers_audit19: three workers of the
// same Pages, each with an Enqueuer (as every pagereply worker), run their
// periodic round of the archives (runArchivedOfOwnPages). The replies
// archive changes (here: a task archived for a reason of its own, as a
// reply Graph refuses for good or past its window is, all day on a busy
// Page), and each change is read once between them, not once by each: a
// full read is up to 10,000 tasks a queue. Counted: full reads of the
// replies archive against the changes.
func TestArchiveReadOncePerChangeAcrossWorkers_audit19(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	h := newHarness(t, sandbox.Options{Pages: 2, Seed: 1911})
	const workers = 3
	opts := make([]*archiveReads, workers)
	for i := range opts {
		opts[i] = &archiveReads{RedisClientOpt: h.opt}
		h.startWorkerOn(t, opts[i], 2, func(p *worker.Params) {
			p.Enqueuer = h.enq
			p.StalePausesCheckedEvery = 200 * time.Millisecond
		})
	}
	client := asynq.NewClient(h.opt)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = client.Close(); _ = insp.Close() })

	// waitRounds waits until each worker ran two more rounds: one of them
	// read the archive after the last change.
	waitRounds := func() {
		t.Helper()
		var from [workers]int64
		for i, o := range opts {
			from[i] = o.rounds.Load()
		}
		deadline := time.Now().Add(30 * time.Second)
		for i, o := range opts {
			for o.rounds.Load() < from[i]+2 {
				if time.Now().After(deadline) {
					t.Fatalf("worker %d ran %d rounds in 30 s", i, o.rounds.Load()-from[i])
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}
	reads := func() (n int64) {
		for _, o := range opts {
			n += o.reads.Load()
		}
		return n
	}
	waitRounds()
	before := reads()
	const changes = 10
	for i := range changes {
		// Neither a reply nor due: no worker takes it; archived by hand.
		ti, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, []byte("not a reply")),
			asynq.Queue(tasks.QueueReplies), asynq.TaskID(fmt.Sprint("archived-", i)), asynq.ProcessIn(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := insp.ArchiveTask(tasks.QueueReplies, ti.ID); err != nil {
			t.Fatal(err)
		}
		waitRounds()
	}
	got := reads() - before
	t.Logf("%d full reads of the replies archive for %d changes", got, changes)
	if got < changes/2 {
		t.Fatalf("the archive was read %d times for %d changes: the test did not see the rounds read it", got, changes)
	}
	// Once per change, and the reads every archivedFullEvery rounds after
	// the last: not once per worker.
	if got > changes+changes/2 {
		t.Errorf("the replies archive was read %d times for %d changes by %d workers of the same Pages: want about one read a change", got, changes, workers)
	}
}
