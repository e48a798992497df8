package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestPollLeaseEndsSoonAfterKilledWorker_audit10: a worker process killed
// with SIGKILL in the middle of a poll (a long one: 40 comment pages at 1
// read a second) holds its Page's polls back for the poll lease's short
// time to live only, not for the 2 minutes the lease lived before: a new
// poll of the Page runs well inside a minute of the kill (the lease is 15
// s; before, the new polls were skipped as busy for about 2 minutes).
func TestPollLeaseEndsSoonAfterKilledWorker_audit10(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a worker process and waits for its lease")
	}
	t.Parallel() // waits on the lease
	h, pages, calls := slowCommentPages(t, 1001, config.Rate{N: 1, Per: time.Second}, 40)
	page := pages[0].ID
	child := h.startChildSpec(t, childSpec{RedisAddr: h.db.Addr, RedisDB: h.db.DB, GraphURL: calls.url, Pages: pages, Concurrency: 4, Poll: true})
	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	b, _ := json.Marshal(tasks.Poll{PageID: page})
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.Queue(tasks.QueuePolls)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); len(calls.times()) < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the worker's poll made %d comment calls in 60 s", len(calls.times()))
		}
	}
	ctx := context.Background()
	leaseKey := h.ledger.LeaseKey(page, "poll")
	if n := h.db.Client.Exists(ctx, leaseKey).Val(); n != 1 {
		t.Fatal("the worker's poll holds no lease mid-poll: the test proves nothing")
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	killed := time.Now()
	p := h.pollParams(pages)
	p.Graph = graph.New(graph.Config{BaseURL: calls.url, Timeout: 5 * time.Second})
	busy := 0
	for {
		// Cut after a moment when it runs: that it ran is the point.
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		rep, _ := worker.NewPoller(p).Poll(pctx, page, false)
		cancel()
		if !rep.Busy {
			break
		}
		busy++
		// The margin is huge both ways: the lease is 15 s now, the old
		// one 2 minutes, renewed a moment before the kill.
		if time.Since(killed) > time.Minute {
			t.Fatalf("a minute after the worker was killed mid-poll, the Page's polls are still skipped as busy (%d tries): the dead poll's lease holds them back", busy)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if busy == 0 {
		t.Error("the first poll after the kill was not skipped as busy: the killed poll held no lease")
	}
	t.Logf("a poll ran %s after the kill, %d skipped as busy before", time.Since(killed).Round(100*time.Millisecond), busy)
}

// TestPollKeepsLeaseThroughSlowGraphCall_audit10: a poll keeps its lease
// while it is not reading (a Graph call that takes longer than the lease,
// here 8 s against 3 s): a second poll of the Page meanwhile is skipped as
// busy. Before, the lease was renewed only as the poll took a read slot,
// and lapsed in such a call.
func TestPollKeepsLeaseThroughSlowGraphCall_audit10(t *testing.T) {
	t.Parallel() // waits on a slow Graph call
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 1, Seed: 1002})
	pages := pollPages(h)
	page := pages[0].ID
	post := h.sb.Posts(page)[0].ID
	h.sb.AddComment(post, sandbox.User{ID: "10021", Name: "Slow Friend"}, "price?", time.Now().Add(-time.Minute))
	var slow atomic.Bool
	slow.Store(true)
	started := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/comments") && slow.Swap(false) {
			started <- struct{}{}
			time.Sleep(8 * time.Second)
		}
		h.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	p := h.pollParams(pages)
	p.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: 20 * time.Second})
	p.Lease = 3 * time.Second
	first := make(chan error, 1)
	go func() {
		_, err := worker.NewPoller(p).Poll(context.Background(), page, false)
		first <- err
	}()
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the poll read no comments in 30 s")
	}
	time.Sleep(5 * time.Second) // past the lease, inside the slow call
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	rep, _ := worker.NewPoller(p).Poll(ctx, page, false)
	if !rep.Busy {
		t.Errorf("a second poll ran beside the first, which waited on a slow Graph call: the lease lapsed in it")
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}

// TestPollLosingItsLeaseWritesNoState_audit10: a poll whose lease another
// took (as one does once a poll's lease ran out) stops and writes none of
// its state, so that two polls never write the Page's state at once; the
// replies it found are enqueued all the same, and the next poll reads
// again what it had not saved. Before, a lost lease changed nothing: the
// poll went on and saved its state beside the one that took it.
func TestPollLosingItsLeaseWritesNoState_audit10(t *testing.T) {
	t.Parallel() // waits on paced reads
	h, pages, calls := slowCommentPages(t, 1003, config.Rate{N: 2, Per: time.Second}, 6)
	page := pages[0].ID
	p := h.pollParams(pages)
	p.Graph = graph.New(graph.Config{BaseURL: calls.url, Timeout: 5 * time.Second})
	type result struct {
		rep worker.PollReport
		err error
	}
	first := make(chan result, 1)
	go func() {
		rep, err := worker.NewPoller(p).Poll(context.Background(), page, false)
		first <- result{rep, err}
	}()
	for deadline := time.Now().Add(30 * time.Second); len(calls.times()) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the poll made fewer than 2 comment calls in 30 s")
		}
	}
	ctx := context.Background()
	leaseKey := h.ledger.LeaseKey(page, "poll")
	if err := h.db.Client.Set(ctx, leaseKey, "another-poll", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	res := <-first
	if !errors.Is(res.err, worker.ErrPollLeaseLost) {
		t.Errorf("poll that lost its lease: error %v, want ErrPollLeaseLost", res.err)
	}
	posts, convs := worker.PollStateKeys(h.ledger, page)
	if n := h.db.Client.Exists(ctx, posts, convs).Val(); n != 0 {
		state, _ := h.db.Client.HGetAll(ctx, posts).Result()
		t.Errorf("the poll that lost its lease wrote the Page's poll state: %v", state)
	}
	if got := res.rep.Enqueued(); got != 10 {
		t.Errorf("the poll that lost its lease enqueued %d replies, want the 10 it found", got)
	}
	// The other poll is done; the next reads the post again.
	h.db.Client.Del(ctx, leaseKey)
	rep, err := worker.NewPoller(p).Poll(ctx, page, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.CommentReads != 1 {
		t.Errorf("the next poll read %d posts' comments, want the one the lost poll had not saved", rep.CommentReads)
	}
}

// slowRenewals delays the poll lease's renewals (the one-key scripts on the
// lease key while on), as a Redis too slow to answer them in time would.
type slowRenewals struct {
	on    atomic.Bool
	delay time.Duration
}

func (s *slowRenewals) DialHook(next redis.DialHook) redis.DialHook { return next }

func (s *slowRenewals) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		args := cmd.Args()
		if s.on.Load() && len(args) == 6 && strings.HasPrefix(cmd.Name(), "eval") {
			if k, _ := args[3].(string); strings.HasSuffix(k, ":lease:poll") {
				select {
				case <-time.After(s.delay):
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		return next(ctx, cmd)
	}
}

func (s *slowRenewals) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestPollStopsWhenRenewalsAreLate_audit10: a poll whose lease renewals
// Redis does not confirm within the lease's time to live (Redis slow) stops
// and writes nothing: its lease may have run out and another poll taken it.
// Here it has: a second poll runs once the lease is over, and the first
// must not save its state beside it. Before, the renewals' answers were
// ignored, and the first poll went on and saved its state.
func TestPollStopsWhenRenewalsAreLate_audit10(t *testing.T) {
	t.Parallel() // waits on paced reads and the lease
	h, pages, calls := slowCommentPages(t, 1004, config.Rate{N: 2, Per: time.Second}, 16)
	page := pages[0].ID
	hook := &slowRenewals{delay: 20 * time.Second}
	rdb := tasks.NewRedisClient(asynq.RedisClientOpt{Addr: h.db.Addr, DB: h.db.DB})
	t.Cleanup(func() { _ = rdb.Close() })
	rdb.AddHook(hook)
	slowLedger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true})
	t.Cleanup(slowLedger.Close)
	p := h.pollParams(pages)
	p.Graph = graph.New(graph.Config{BaseURL: calls.url, Timeout: 5 * time.Second})
	p.Ledger = slowLedger
	p.Lease = 2 * time.Second
	first := make(chan error, 1)
	go func() {
		_, err := worker.NewPoller(p).Poll(context.Background(), page, false)
		first <- err
	}()
	for deadline := time.Now().Add(30 * time.Second); len(calls.times()) < 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the poll made no comment call in 30 s")
		}
	}
	hook.on.Store(true)
	// Another poll, through a Redis that answers, takes the lease once it
	// has run out.
	p2 := p
	p2.Ledger = h.ledger
	ctx := context.Background()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no second poll ran within 30 s of the renewals going slow")
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		rep, _ := worker.NewPoller(p2).Poll(pctx, page, false)
		cancel()
		if !rep.Busy {
			break
		}
	}
	var err error
	select {
	case err = <-first:
	case <-time.After(60 * time.Second):
		t.Fatal("the poll whose renewals were late still runs 60 s later")
	}
	if !errors.Is(err, worker.ErrPollLeaseLost) {
		t.Errorf("poll whose renewals were late: error %v, want ErrPollLeaseLost", err)
	}
	posts, _ := worker.PollStateKeys(h.ledger, page)
	if n := h.db.Client.HLen(ctx, posts).Val(); n != 0 {
		state, _ := h.db.Client.HGetAll(ctx, posts).Result()
		t.Errorf("the poll whose lease ran out wrote the Page's poll state: %v", state)
	}
}

// TestPollTaskLosingItsLeaseCompletes_audit10: a poll task whose poll lost
// its lease completes, not retried: the poll that took the lease, or the
// next slot's, reads again what it had not saved, and a retry would only
// meet that poll's lease (or read everything again behind it).
func TestPollTaskLosingItsLeaseCompletes_audit10(t *testing.T) {
	t.Parallel() // waits on paced reads
	h, pages, calls := slowCommentPages(t, 1005, config.Rate{N: 2, Per: time.Second}, 6)
	pages[0].Schedule = "@every 1h"
	page := pages[0].ID
	p := h.pollParams(pages)
	p.Graph = graph.New(graph.Config{BaseURL: calls.url, Timeout: 5 * time.Second})
	h.startPollingWorker(t, pages, worker.NewPollHandler(p))
	client := asynq.NewClient(h.opt)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	b, _ := json.Marshal(tasks.Poll{PageID: page})
	const id = "audit10-lease-lost"
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, b), asynq.TaskID(id), asynq.Queue(tasks.QueuePolls),
		asynq.MaxRetry(3), asynq.Retention(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); len(calls.times()) < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the poll made fewer than 2 comment calls in 30 s")
		}
	}
	ctx := context.Background()
	if err := h.db.Client.Set(ctx, h.ledger.LeaseKey(page, "poll"), "another-poll", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ti, err := insp.GetTaskInfo(tasks.QueuePolls, id)
		if err == nil && ti.State == asynq.TaskStateCompleted {
			if ti.Retried != 0 {
				t.Errorf("completed after %d retries, want 0", ti.Retried)
			}
			break
		}
		if err == nil && (ti.State == asynq.TaskStateRetry || ti.State == asynq.TaskStateArchived) {
			t.Fatalf("the poll task that lost its lease is %s (%s), want completed", ti.State, ti.LastErr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("poll task not completed in 60 s: %+v %v", ti, err)
		}
	}
	posts, _ := worker.PollStateKeys(h.ledger, page)
	if n := h.db.Client.HLen(ctx, posts).Val(); n != 0 {
		t.Errorf("the poll task that lost its lease wrote %d fields of the Page's poll state", n)
	}
}
