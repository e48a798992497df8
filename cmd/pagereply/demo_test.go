package main

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// demoSmall are the flags of a short demo run against db.
func demoSmall(db *redistest.DB) []string {
	return []string{"demo", "--once", "--timeout", "40s", "--addr", "127.0.0.1:0", "--redis", db.URL(),
		"--pages", "1", "--posts", "2", "--comments", "3", "--conversations", "1", "--seed", "9"}
}

// foreignReply enqueues, as another pagereply deployment would, a pending
// reply for a Page of its own, and returns the reply task's id.
func foreignReply(t *testing.T, db *redistest.DB) string {
	t.Helper()
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	cl := asynq.NewClient(opt)
	defer cl.Close()
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	defer l.Close()
	enq := &tasks.Enqueuer{Client: cl, Ledger: l, MaxRetry: 3}
	r := tasks.Reply{PageID: "4242424242", Target: tasks.Target{Kind: tasks.KindComment, ID: "4242424242_1_2"},
		Text: "a real customer's reply", Source: tasks.SourceAPI}
	out, _, err := enq.Enqueue(context.Background(), r)
	if err != nil || out != tasks.Enqueued {
		t.Fatalf("enqueue the other deployment's reply: %v, %v", out, err)
	}
	return r.Target.String()
}

// checkPending fails t unless the reply task id is still pending in db.
func checkPending(t *testing.T, db *redistest.DB, id string) {
	t.Helper()
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB})
	defer insp.Close()
	info, err := insp.GetTaskInfo(tasks.QueueReplies, id)
	if err != nil {
		t.Fatalf("the other deployment's reply task %s: %v", id, err)
	}
	if info.State != asynq.TaskStatePending || info.Retried != 0 {
		t.Errorf("the other deployment's reply task is %s after %d retries, want pending and untouched", info.State, info.Retried)
	}
}

func allKeys(t *testing.T, c *redis.Client) []string {
	t.Helper()
	keys, err := c.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

// TestDemoRefusesAnotherDeployment points the demo at the database of
// another deployment that has a reply pending: the demo must exit 2 with a
// message saying why, and leave the database as it was.
func TestDemoRefusesAnotherDeployment(t *testing.T) {
	db := redistest.New(t)
	id := foreignReply(t, db)
	before := allKeys(t, db.Client)

	out, errOut, code := run(t, demoSmall(db)...)
	if code != exitUsage || !strings.Contains(errOut, "--redis") || !strings.Contains(errOut, "another") {
		t.Errorf("demo exit %d, want 2 and a message about the other deployment\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkPending(t, db, id)
	if after := allKeys(t, db.Client); !slices.Equal(before, after) {
		t.Errorf("the demo wrote to the database it refused:\nbefore %q\nafter  %q", before, after)
	}
}

// TestDemoTwiceOnOneDatabase runs the demo twice on one database, which it
// must accept as its own the second time; then another deployment's reply
// appears in it, and the third run must refuse and leave that reply alone.
func TestDemoTwiceOnOneDatabase(t *testing.T) {
	db := redistest.New(t)
	for i := range 2 {
		out, errOut, code := run(t, demoSmall(db)...)
		if code != exitOK {
			t.Fatalf("run %d: demo exit %d\nstdout:\n%s\nstderr:\n%s", i+1, code, out, errOut)
		}
		// The second run answers nothing again, and says why.
		again := regexp.MustCompile(`(?m)^\d+ replies were sent by an earlier run on this database; the ledger kept them from being sent twice\.\nThis run sent no reply\.$`)
		if first := regexp.MustCompile(`(?m)^\d+ replies sent by this run; the first 5:$`); i == 0 && (!first.MatchString(out) || again.MatchString(out)) ||
			i == 1 && (!again.MatchString(out) || first.MatchString(out)) {
			t.Errorf("run %d's report:\n%s", i+1, out)
		}
	}
	id := foreignReply(t, db)
	out, errOut, code := run(t, demoSmall(db)...)
	if code != exitUsage || !strings.Contains(errOut, "4242424242") {
		t.Errorf("demo exit %d, want 2 naming the other deployment's Page\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkPending(t, db, id)
}

// TestForeignData covers what makes a database not the demo's, and what
// leaves it the demo's.
func TestForeignData(t *testing.T) {
	const own = "1111111111111111"
	mark := func(c *redis.Client) { c.SAdd(context.Background(), demoMarker, own) }
	enqueue := func(db *redistest.DB, typ, queue, payload string) {
		cl := asynq.NewClient(asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB})
		defer cl.Close()
		if _, err := cl.Enqueue(asynq.NewTask(typ, []byte(payload)), asynq.Queue(queue)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		setup func(db *redistest.DB)
		want  string // "" for the demo's
	}{
		{name: "empty", setup: func(*redistest.DB) {}},
		{name: "other applications' keys only", setup: func(db *redistest.DB) { db.Client.Set(context.Background(), "session:1", "x", 0) }},
		{name: "a pagereply key", setup: func(db *redistest.DB) { db.Client.HSet(context.Background(), "pagereply:{42}:stats", "sent", 1) }, want: "another pagereply or asynq deployment"},
		{name: "demo's own", setup: func(db *redistest.DB) {
			mark(db.Client)
			db.Client.HSet(context.Background(), "pagereply:{"+own+"}:stats", "sent", 1)
			enqueue(db, tasks.TypePoll, tasks.QueuePolls, `{"page_id":"`+own+`","slot":1}`)
			enqueue(db, tasks.TypeReply, tasks.QueueReplies, `{"page_id":"`+own+`","target":"comment:1_2","text":"x"}`)
		}},
		{name: "a worker running", setup: func(db *redistest.DB) {
			mark(db.Client)
			db.Client.ZAdd(context.Background(), asynqServers, redis.Z{Score: float64(time.Now().Add(time.Minute).Unix()), Member: "asynq:servers:{h:1:x}"})
		}, want: "a worker is running"},
		{name: "a stale worker", setup: func(db *redistest.DB) {
			mark(db.Client)
			db.Client.ZAdd(context.Background(), asynqServers, redis.Z{Score: float64(time.Now().Add(-time.Minute).Unix()), Member: "asynq:servers:{h:1:x}"})
		}},
		{name: "another queue", setup: func(db *redistest.DB) {
			mark(db.Client)
			enqueue(db, "email:send", "default", "{}")
		}, want: "asynq queue default"},
		{name: "another task type", setup: func(db *redistest.DB) {
			mark(db.Client)
			enqueue(db, "email:send", tasks.QueueReplies, "{}")
		}, want: `type "email:send"`},
		{name: "another Page's poll", setup: func(db *redistest.DB) {
			mark(db.Client)
			enqueue(db, tasks.TypePoll, tasks.QueuePolls, `{"page_id":"42","slot":1}`)
		}, want: "of Page 42"},
		{name: "another Page's ledger key", setup: func(db *redistest.DB) {
			mark(db.Client)
			db.Client.HSet(context.Background(), "pagereply:{42}:stats", "sent", 1)
		}, want: "pagereply:{42}:stats of Page 42"},
		{name: "a key not the ledger's", setup: func(db *redistest.DB) {
			mark(db.Client)
			db.Client.Set(context.Background(), "pagereply:other", "x", 0)
		}, want: "key pagereply:other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := redistest.New(t)
			tt.setup(db)
			insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB})
			defer insp.Close()
			why, err := foreignData(context.Background(), db.Client, insp)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == "" && why != "" || !strings.Contains(why, tt.want) {
				t.Errorf("foreignData = %q, want %q", why, tt.want)
			}
		})
	}
}

// TestDemoOnceInterrupted stops a `demo --once` (Ctrl-C, or a CI job's
// SIGTERM) before every seeded item is handled: it must not exit 0, which
// --once promises only once every item is handled. (80 comments at the
// demo Page's 20/s take the worker 4 s at least: the demo cannot have
// finished by the stop, however slow the machine.)
func TestDemoOnceInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr, done := runInBackground(ctx, runDemo, "--once", "--addr", "127.0.0.1:0", "--pages", "1", "--posts", "2", "--comments", "40", "--conversations", "1")
	waitFor(t, stdout, regexp.MustCompile(`eligible for a reply`))
	cancel()
	select {
	case code := <-done:
		if code == exitOK {
			t.Errorf("demo --once stopped before every item was handled exits 0\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		if !strings.Contains(stderr.String(), "--once") {
			t.Errorf("stderr does not say --once did not finish:\n%s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("demo still running 30s after its stop")
	}
}
