package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// fleetOptions configures a fleet.
type fleetOptions struct {
	Redis asynq.RedisConnOpt
	// Pages in the sandbox and in the worker's config, one post each.
	Pages int
	// PageRate and Burst are every Page's configured limit.
	PageRate config.Rate
	Burst    int
	// Concurrency of the worker.
	Concurrency int
	// HTTP sends Graph calls over loopback HTTP instead of in-process.
	HTTP bool
	// Wrap, if set, wraps the connection of each part (owners "enqueue",
	// "ledger", "asynq-server"), for counting commands.
	Wrap func(owner string, opt asynq.RedisConnOpt) asynq.RedisConnOpt
}

// fleet is one in-process pagereply deployment under test: a sandbox of Pages
// with a post each, the enqueue side as producers use it (tasks.Enqueuer) and
// a worker built with worker.Params defaults but for Concurrency, wired as
// `pagereply worker` wires it.
type fleet struct {
	sb    *sandbox.Sandbox
	pages []config.Page
	posts []string // per Page
	enq   *tasks.Enqueuer
	w     *worker.Worker

	close []func()
}

func newFleet(o fleetOptions) *fleet {
	wrap := o.Wrap
	if wrap == nil {
		wrap = func(_ string, opt asynq.RedisConnOpt) asynq.RedisConnOpt { return opt }
	}
	f := &fleet{sb: sandbox.New(sandbox.Options{Pages: o.Pages, Posts: 1, Seed: 1})}
	for _, p := range f.sb.Pages() {
		f.pages = append(f.pages, config.Page{ID: p.ID, AccessToken: p.Token, Rate: o.PageRate, Burst: o.Burst})
		f.posts = append(f.posts, f.sb.Posts(p.ID)[0].ID)
	}
	gc := graph.Config{BaseURL: "http://sandbox.invalid", Timeout: 10 * time.Second}
	if o.HTTP {
		srv := httptest.NewServer(f.sb)
		f.close = append(f.close, srv.Close)
		gc.BaseURL = srv.URL
	} else {
		gc.HTTPClient = &http.Client{Transport: handlerTransport{f.sb}}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := metrics.New()

	rdb := tasks.NewRedisClient(wrap("ledger", o.Redis))
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true})
	enqRDB := tasks.NewRedisClient(wrap("enqueue", o.Redis))
	client := asynq.NewClient(wrap("enqueue", o.Redis))
	f.close = append(f.close, func() { _ = client.Close() }, ledger.Close, func() { _ = rdb.Close() }, func() { _ = enqRDB.Close() })
	// Producers (poll, webhook, API) run in other processes than the workers:
	// their ledger reads go through a connection of their own.
	f.enq = &tasks.Enqueuer{Client: client, Ledger: tasks.NewLedger(enqRDB, tasks.LedgerOptions{}), MaxRetry: 10}
	gc.Observer = worker.GraphObserver(ledger, m, log)
	f.w = worker.New(worker.Params{Redis: wrap("asynq-server", o.Redis), Ledger: ledger, Graph: graph.New(gc), MaxRetry: 10,
		Pages: f.pages, Concurrency: o.Concurrency, Logger: log, Metrics: m})
	return f
}

// start starts the worker.
func (f *fleet) start() error {
	if err := f.w.Start(); err != nil {
		return fmt.Errorf("bench: start worker: %w", err)
	}
	f.close = append(f.close, func() { f.w.Shutdown(context.Background()) })
	return nil
}

// Close stops the worker and closes the connections.
func (f *fleet) Close() {
	for i := len(f.close) - 1; i >= 0; i-- {
		f.close[i]()
	}
}

// replies adds n fresh comments, spread round-robin over the Pages (reply i
// goes to Page i mod Pages), and returns their reply tasks.
func (f *fleet) replies(n int) []tasks.Reply {
	out := make([]tasks.Reply, n)
	now := time.Now().Add(-time.Minute)
	for i := range out {
		pg := i % len(f.pages)
		id := f.sb.AddComment(f.posts[pg], sandbox.User{ID: strconv.Itoa(10_000_000 + i), Name: "Bench Person"}, "hello", now)
		out[i] = tasks.Reply{PageID: f.pages[pg].ID, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks!", Source: tasks.SourceAPI}
	}
	return out
}

// produced is what an open-loop producer did.
type produced struct {
	// At is when each reply's Enqueue call started (zero if never).
	At []time.Time
	// Start and End bound the enqueueing.
	Start, End time.Time
	// Lag is how late the producer started each call against its schedule:
	// an open-loop producer that lags no longer offers the load asked of it.
	Lag Latency
}

// EnqueueRate is the achieved enqueue rate.
func (p produced) EnqueueRate() float64 {
	if d := p.End.Sub(p.Start).Seconds(); d > 0 {
		return float64(len(p.At)) / d
	}
	return 0
}

// openLoop enqueues rs through enq at a fixed rate, reply i at start+i/rate,
// whatever the system's progress (an open loop: a slow system is not
// offered less), with several goroutines so one slow call does not hold back
// the schedule.
func openLoop(ctx context.Context, enq *tasks.Enqueuer, rs []tasks.Reply, rate float64, producers int) (produced, error) {
	p := produced{At: make([]time.Time, len(rs))}
	lags := make([]time.Duration, len(rs))
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	p.Start = time.Now().Add(20 * time.Millisecond)
	for range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(rs) || ctx.Err() != nil {
					return
				}
				due := p.Start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
				if d := time.Until(due); d > 0 {
					time.Sleep(d)
				}
				now := time.Now()
				p.At[i], lags[i] = now, now.Sub(due)
				out, _, err := enq.Enqueue(ctx, rs[i])
				if err == nil && out != tasks.Enqueued {
					err = fmt.Errorf("bench: enqueue %s: %s", rs[i].Target, out)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	p.End = time.Now()
	p.Lag = LatencyOf(lags)
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return p, firstErr
}

// waitSends waits until the sandbox holds want sends among the Pages keep
// selects (nil: all), or until timeout; it returns the count reached.
func (f *fleet) waitSends(ctx context.Context, want int, keep func(pageID string) bool, timeout time.Duration) int {
	deadline := time.Now().Add(timeout)
	for {
		n := 0
		for _, s := range f.sb.Sends() {
			if keep == nil || keep(s.PageID) {
				n++
			}
		}
		if n >= want || time.Now().After(deadline) || ctx.Err() != nil {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// latencies returns, for the replies of rs that keep selects (nil: all) and
// that the sandbox recorded as sent, the time from their Enqueue call to the
// sandbox's send, and the last send's time.
func (f *fleet) latencies(rs []tasks.Reply, p produced, keep func(pageID string) bool) ([]time.Duration, time.Time) {
	at := make(map[string]time.Time, len(rs))
	for i, r := range rs {
		if (keep == nil || keep(r.PageID)) && !p.At[i].IsZero() {
			at[r.Target.ID] = p.At[i]
		}
	}
	var (
		ds   []time.Duration
		last time.Time
	)
	for _, s := range f.sb.Sends() {
		t0, ok := at[s.Target]
		if !ok {
			continue
		}
		ds = append(ds, s.Time.Sub(t0))
		if s.Time.After(last) {
			last = s.Time
		}
	}
	return ds, last
}

// Tuning is the worker's asynq tuning as the benchmarks ran it: the
// worker.Params defaults, read from the worker itself so the figures stay
// true when a default changes.
type Tuning struct {
	Concurrency              int           `json:"concurrency"`
	TaskCheckInterval        time.Duration `json:"task_check_interval_ns"`
	DelayedTaskCheckInterval time.Duration `json:"delayed_task_check_interval_ns"`
	MaxWait                  time.Duration `json:"max_wait_ns"`
	GraphTimeout             time.Duration `json:"graph_timeout_ns"`
}

// String writes the tuning for a table's heading.
func (t Tuning) String() string {
	return fmt.Sprintf("worker.Params defaults: Concurrency %d (set by the bench), TaskCheckInterval %s, DelayedTaskCheckInterval %s, MaxWait %s, GraphTimeout %s",
		t.Concurrency, t.TaskCheckInterval, t.DelayedTaskCheckInterval, t.MaxWait, t.GraphTimeout)
}

// tuningOf reads the parameters a Worker runs with (New fills in the
// defaults). worker exports no accessor, so this reads its unexported params
// by reflection; a renamed field reads as zero, which TestTuning catches.
func tuningOf(w *worker.Worker) Tuning {
	p := reflect.ValueOf(w).Elem().FieldByName("p")
	if !p.IsValid() {
		return Tuning{}
	}
	dur := func(name string) time.Duration {
		f := p.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Int64 {
			return 0
		}
		return time.Duration(f.Int())
	}
	var t Tuning
	if f := p.FieldByName("Concurrency"); f.IsValid() && f.Kind() == reflect.Int {
		t.Concurrency = int(f.Int())
	}
	t.TaskCheckInterval, t.DelayedTaskCheckInterval = dur("TaskCheckInterval"), dur("DelayedTaskCheckInterval")
	t.MaxWait, t.GraphTimeout = dur("MaxWait"), dur("GraphTimeout")
	return t
}

// emptyDB returns an error unless the database is empty; RunPipeline and
// every mode refuse to flush someone's data.
func emptyDB(ctx context.Context, rdb redis.UniversalClient) error {
	n, err := rdb.DBSize(ctx).Result()
	if err != nil {
		return fmt.Errorf("bench: redis: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("bench: the Redis database holds %d keys; give an empty one (--redis redis://host:6379/15) or --flush it", n)
	}
	return nil
}
