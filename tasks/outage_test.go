package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

// outageAfterTask runs one task through an asynq server whose Redis client is
// made by newClient and reaches Redis through a proxy. The proxy goes down
// while the handler runs, the handler then ends with result, and the proxy
// comes back after outage. It then reads the task's state in Redis ("gone"
// once asynq deleted it) until done says so or for wait, and returns it.
func outageAfterTask(t *testing.T, newClient func(asynq.RedisConnOpt) redis.UniversalClient, result error, outage, wait time.Duration, done func(state string) bool) string {
	t.Helper()
	db := redistest.New(t)
	cut := redistest.NewCut(t, db.Addr)
	rdb := newClient(asynq.RedisClientOpt{Addr: cut.Addr(), DB: db.DB})
	defer rdb.Close()
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: 1, Queues: map[string]int{"outage": 1},
		TaskCheckInterval: 20 * time.Millisecond,
		RetryDelayFunc:    func(int, error, *asynq.Task) time.Duration { return time.Minute },
		LogLevel:          asynq.FatalLevel, // its warnings about Redis are this test's point
	})
	started, release := make(chan struct{}), make(chan struct{})
	if err := srv.Start(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		close(started)
		<-release
		return result
	})); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	client := asynq.NewClientFromRedisClient(db.Client)
	if _, err := client.Enqueue(asynq.NewTask("outage:t", nil), asynq.TaskID("t1"), asynq.Queue("outage"), asynq.MaxRetry(3)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the task never started")
	}
	cut.Down()
	close(release)
	time.Sleep(outage)
	cut.Up()

	insp := asynq.NewInspectorFromRedisClient(db.Client)
	deadline := time.Now().Add(wait)
	for {
		state := "gone"
		info, err := insp.GetTaskInfo("outage", "t1")
		switch {
		case err == nil:
			state = info.State.String()
		case !errors.Is(err, asynq.ErrTaskNotFound):
			t.Fatal(err)
		}
		if done(state) || time.Now().After(deadline) {
			return state
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServerClientOutlastsOutage: a task that ends while Redis is away for 5s
// (a failover) has its outcome written once Redis is back, through the server
// client's retries. With go-redis's default retries (under 2s while dials are
// refused) the write fails, asynq's syncer cannot redo it (its retries reuse a
// canceled context, asynq v0.26), and the task stays active for up to two
// minutes, until asynq's recoverer: the control case shows that, so the day
// asynq fixes it this test says the workaround can go.
func TestServerClientOutlastsOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("Redis outages of 5s")
	}
	// The fixed cases are read until their state shows (within 15s: a try
	// while dials are refused takes up to 2s, then up to 1s of wait); the
	// control for 8s, long after those tries would have ended.
	const outage, wait, control = 5 * time.Second, 15 * time.Second, 8 * time.Second
	server := func(o asynq.RedisConnOpt) redis.UniversalClient { return NewServerRedisClient(o) }
	is := func(want string) func(string) bool { return func(s string) bool { return s == want } }
	t.Run("done", func(t *testing.T) {
		t.Parallel()
		if got := outageAfterTask(t, server, nil, outage, wait, is("gone")); got != "gone" {
			t.Errorf("a task done during the outage is %s %s after it, want it gone", got, wait)
		}
	})
	t.Run("retry", func(t *testing.T) {
		t.Parallel()
		if got := outageAfterTask(t, server, errors.New("graph said try later"), outage, wait, is("retry")); got != "retry" {
			t.Errorf("a task failed during the outage is %s %s after it, want retry", got, wait)
		}
	})
	t.Run("control: default retries", func(t *testing.T) {
		t.Parallel()
		left := func(s string) bool { return s != "active" }
		if got := outageAfterTask(t, NewRedisClient, nil, outage, control, left); got != "active" {
			t.Errorf("with go-redis's default retries the task is %s within %s of the outage; asynq's syncer may be fixed: "+
				"reconsider tasks.NewServerRedisClient's retries", got, control)
		}
	})
}

// newCutServerClient is a server client of a fresh database, reached
// through a cut that a test can take down and bring back.
func newCutServerClient(t *testing.T) (*redistest.DB, *redistest.Cut, *ServerClient) {
	t.Helper()
	db := redistest.New(t)
	cut := redistest.NewCut(t, db.Addr)
	c := NewServerRedisClient(asynq.RedisClientOpt{Addr: cut.Addr(), DB: db.DB})
	t.Cleanup(func() { _ = c.Close() })
	return db, cut, c
}

// TestServerClientStopRetrying: with Redis away, a server client's command
// waits for it; StopRetrying ends that wait after the current try, and later
// commands fail as fast as with go-redis's defaults.
func TestServerClientStopRetrying(t *testing.T) {
	if testing.Short() {
		t.Skip("waits on a refused port")
	}
	_, cut, c := newCutServerClient(t)
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	cut.Down()
	type result struct {
		err  error
		took time.Duration
	}
	got := make(chan result, 1)
	go func() {
		start := time.Now()
		err := c.Set(ctx, "k", "w", 0).Err()
		got <- result{err, time.Since(start)}
	}()
	select {
	case r := <-got:
		t.Fatalf("a command with Redis away ended after %s (%v), want it still trying", r.took, r.err)
	case <-time.After(4 * time.Second): // past go-redis's own retries (about 2s)
	}
	stopped := time.Now()
	c.StopRetrying()
	var r result
	select {
	case r = <-got:
	case <-time.After(ServerRetryFor):
		t.Fatalf("the command still waits %s after StopRetrying", ServerRetryFor)
	}
	if r.err == nil {
		t.Fatal("a command succeeded with Redis away")
	}
	t.Logf("the waiting command gave up %s after StopRetrying (%v)", time.Since(stopped).Round(time.Millisecond), r.err)
	start := time.Now()
	if err := c.Get(ctx, "k").Err(); err == nil {
		t.Fatal("a command succeeded with Redis away")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a command after StopRetrying took %s to fail, want go-redis's own retries only (about 2s)", d)
	}
	cut.Up()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Errorf("after Redis came back: %q, %v; want the value set before the outage", v, err)
	}
}

// TestRedisAway: which errors a server client waits out, and a reply waits
// out without using a retry. Redis's error
// replies come from a real Redis (a script answering them), parsed by go-redis.
func TestRedisAway(t *testing.T) {
	db := redistest.New(t)
	reply := func(msg string) error {
		return db.Client.Eval(context.Background(), "return redis.error_reply(ARGV[1])", nil, msg).Err()
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("wrapped: %w", io.EOF), true},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{fmt.Errorf("ledger reserve: %w", redis.ErrPoolTimeout), true},
		{errors.New("graph: no answer"), false},
		{context.DeadlineExceeded, false},
		{redis.Nil, false},
		{redis.ErrClosed, false},
		{reply("READONLY You can't write against a read only replica."), true},
		{reply("LOADING Redis is loading the dataset in memory"), true},
		{reply("MASTERDOWN Link with MASTER is down"), true},
		{reply("CLUSTERDOWN The cluster is down"), true},
		{reply("NOSCRIPT No matching script"), false},
		{reply("ERR NOT FOUND"), false},
	} {
		if tc.err == nil {
			t.Fatal("the script answered no error")
		}
		if got := RedisAway(tc.err); got != tc.want {
			t.Errorf("RedisAway(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
