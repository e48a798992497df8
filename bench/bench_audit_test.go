package bench

import (
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// phaseSeeder is a PipelineOptions.Progress that, once the first phase has
// reported, leaves in Redis a task whose TaskID the second phase's first
// enqueue uses: only a second phase that starts on a flushed database
// enqueues all its tasks.
type phaseSeeder struct {
	t      *testing.T
	opt    asynq.RedisConnOpt
	taskID string // the second phase's first TaskID
	mu     sync.Mutex
	lines  []string
}

func (s *phaseSeeder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lines = append(s.lines, string(p))
	if len(s.lines) == 1 {
		c := asynq.NewClient(s.opt)
		defer c.Close()
		if _, err := c.Enqueue(asynq.NewTask("stale:left", nil), asynq.TaskID(s.taskID), asynq.Queue(tasks.QueueReplies)); err != nil {
			s.t.Errorf("seed %s: %v", s.taskID, err)
		}
	}
	return len(p), nil
}

// firstReplyTarget is the TaskID of the pipeline phase's first reply: its
// sandbox is seeded, so the comment ids repeat.
func firstReplyTarget() string {
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Comments: 0, Seed: 1})
	post := sb.Posts(sb.Pages()[0].ID)[0].ID
	id := sb.AddComment(post, sandbox.User{ID: "1000000", Name: "Bench Person"}, "hello", time.Now())
	return tasks.Target{Kind: tasks.KindComment, ID: id}.String()
}

// TestPipelinePhasesAudit: PipelineFirst decides which phase runs first, each
// phase starts on a flushed database (what the first left does not count in
// the second), the ratio is pipeline over bare, and the database is left
// empty.
func TestPipelinePhasesAudit(t *testing.T) {
	for _, pipeFirst := range []bool{false, true} {
		t.Run("pipeline first "+strconv.FormatBool(pipeFirst), func(t *testing.T) {
			db := redistest.New(t)
			opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
			seed := &phaseSeeder{t: t, opt: opt, taskID: firstReplyTarget()}
			first, second := "bare asynq:", "pipeline:"
			if pipeFirst {
				seed.taskID = "comment:0"
				first, second = second, first
			}
			res, err := RunPipeline(context.Background(), PipelineOptions{Redis: opt, N: 100, Concurrency: 10, PipelineFirst: pipeFirst, Progress: seed})
			if err != nil {
				t.Fatalf("the second phase did not start afresh: %v", err)
			}
			if len(seed.lines) != 2 || !strings.HasPrefix(seed.lines[0], first) || !strings.HasPrefix(seed.lines[1], second) {
				t.Fatalf("phases ran in the order %q, want %s then %s", seed.lines, first, second)
			}
			if res.N != 100 || res.Concurrency != 10 || res.Ratio != res.PipePerSec/res.BarePerSec {
				t.Errorf("result %+v: want N 100, concurrency 10, ratio pipeline/bare", res)
			}
			if res.BareCPU.Go <= 0 || res.PipeCPU.Go <= 0 || res.PipeCPU.Alloc == 0 || res.Ledger.Pipelines == 0 {
				t.Errorf("cpu bare %+v pipeline %+v ledger %+v", res.BareCPU, res.PipeCPU, res.Ledger)
			}
			if n, err := db.Client.DBSize(context.Background()).Result(); err != nil || n != 0 {
				t.Errorf("the database holds %d keys after the run (%v)", n, err)
			}
		})
	}
}

// TestRunsRefuseDataAudit: every run refuses a database holding keys, and
// leaves those keys alone.
func TestRunsRefuseDataAudit(t *testing.T) {
	db := redistest.New(t)
	ctx := context.Background()
	if err := db.Client.Set(ctx, "someone:else", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	runs := map[string]func() error{
		"pipeline": func() error { _, err := RunPipeline(ctx, PipelineOptions{Redis: opt, N: 10}); return err },
		"latency":  func() error { _, err := RunLatency(ctx, LatencyOptions{Redis: opt, Rates: []float64{10}}); return err },
		"pages":    func() error { _, err := RunPages(ctx, PagesOptions{Redis: opt, Pages: 3}); return err },
		"redis":    func() error { _, err := RunRedis(ctx, RedisOptions{Redis: opt, N: 10}); return err },
		"poll":     func() error { _, err := RunPoll(ctx, PollOptions{Redis: opt, Posts: 1, Comments: 1}); return err },
		"rate": func() error {
			_, err := RunRate(ctx, RateOptions{RedisURL: db.URL(), Rates: []int{1}, Workers: []int{1}, Dir: t.TempDir(),
				Command: func(string) *exec.Cmd {
					t.Error("rate started a worker on a database holding keys")
					return exec.Command("false")
				}})
			return err
		},
	}
	for name, run := range runs {
		if err := run(); err == nil || !strings.Contains(err.Error(), "holds 1 keys") {
			t.Errorf("%s: %v, want the database refused", name, err)
		}
		if v, err := db.Client.Get(ctx, "someone:else").Result(); err != nil || v != "x" {
			t.Fatalf("%s: someone's key is gone: %q %v", name, v, err)
		}
	}
}

// TestDrainAudit: the rate is every task over the time since start, once
// every task is done, and a drain short of a task ends in an error, not a
// rate.
func TestDrainAudit(t *testing.T) {
	const n = 50
	fill := func(k int) chan struct{} {
		done := make(chan struct{}, n)
		for range k {
			done <- struct{}{}
		}
		return done
	}
	done := fill(n)
	start := time.Now().Add(-time.Hour)
	t0 := time.Now()
	rate, err := drain(context.Background(), done, n, start)
	t1 := time.Now()
	if err != nil || len(done) != 0 {
		t.Fatalf("drain: %v, %d of %d tasks left", err, len(done), n)
	}
	if lo, hi := n/t1.Sub(start).Seconds(), n/t0.Sub(start).Seconds(); rate < lo || rate > hi {
		t.Fatalf("rate %v, want %d tasks over the hour since start (%v–%v)", rate, n, lo, hi)
	}
	// n-1 tasks: the context ends once drain has taken them all.
	done = fill(n - 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for len(done) > 0 && ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if rate, err := drain(ctx, done, n, start); !errors.Is(err, context.Canceled) || rate != 0 {
		t.Fatalf("drain of %d of %d tasks: %v, %v; want the context's error", n-1, n, rate, err)
	}
}

type handlerFunc func(context.Context, *asynq.Task) error

func (f handlerFunc) ProcessTask(ctx context.Context, t *asynq.Task) error { return f(ctx, t) }

// TestCountingHandlerAudit: only a reply whose handler returned nil counts,
// and only once the handler has returned.
func TestCountingHandlerAudit(t *testing.T) {
	done := make(chan struct{}, 2)
	fail := errors.New("refused")
	h := countingHandler{next: handlerFunc(func(context.Context, *asynq.Task) error { return fail }), done: done}
	if err := h.ProcessTask(context.Background(), asynq.NewTask("x", nil)); err != fail || len(done) != 0 {
		t.Fatalf("a failed reply: %v, %d counted", err, len(done))
	}
	h.next = handlerFunc(func(context.Context, *asynq.Task) error {
		if len(done) != 0 {
			t.Error("the reply counted before its handler returned")
		}
		return nil
	})
	if err := h.ProcessTask(context.Background(), asynq.NewTask("x", nil)); err != nil || len(done) != 1 {
		t.Fatalf("a sent reply: %v, %d counted", err, len(done))
	}
}

// infoCPU reads used_cpu_user + used_cpu_sys from Redis, as the test's own
// reading to bracket redisCPU's.
func infoCPU(t *testing.T, db *redistest.DB) float64 {
	info, err := db.Client.Info(context.Background(), "cpu").Result()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, k := range []string{"used_cpu_user:", "used_cpu_sys:"} {
		i := strings.Index(info, k)
		if i < 0 {
			t.Fatalf("INFO cpu lacks %s", k)
		}
		v, _, _ := strings.Cut(info[i+len(k):], "\r\n")
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += f
	}
	return sum
}

// TestCPUCostAudit: CPU per task is the time spent since the mark over the
// task count, in each unit as named; Redis's is user plus system time.
func TestCPUCostAudit(t *testing.T) {
	db := redistest.New(t)
	ctx := context.Background()
	a := infoCPU(t, db)
	r := redisCPU(ctx, db.Client)
	b := infoCPU(t, db)
	if r < a || r > b {
		t.Fatalf("redisCPU %v, want Redis's user+sys time, between %v and %v", r, a, b)
	}
	const n = 1000
	m := startCPU(ctx, db.Client)
	goS, rdbS, alloc := m.goS, m.rdbS, m.alloc
	// As if 2 s of this process, 3 s of Redis and 5 MB had been spent since.
	m.goS, m.rdbS, m.alloc = goS-2, rdbS-3, alloc-5_000_000
	c := m.per(ctx, n)
	goNow, rdbNow, allocNow := processCPU(), redisCPU(ctx, db.Client), allocBytes()
	each := func(s float64) time.Duration { return time.Duration(s * float64(time.Second) / n) }
	if c.Go < each(2)-time.Microsecond || c.Go > each(2+goNow-goS)+time.Microsecond {
		t.Errorf("Go CPU per task %v, want 2 ms and a little", c.Go)
	}
	if c.Redis < each(3)-time.Microsecond || c.Redis > each(3+rdbNow-rdbS)+time.Microsecond {
		t.Errorf("Redis CPU per task %v, want 3 ms and a little", c.Redis)
	}
	if c.Alloc < 5000 || c.Alloc > 5000+(allocNow-alloc)/n+1 {
		t.Errorf("allocated per task %d B, want 5,000 and a little", c.Alloc)
	}
	if c.Steal < 0 || c.Steal > 1 {
		t.Errorf("steal %v", c.Steal)
	}
}

// procSteal reads the steal and the user..steal total of /proc/stat's cpu line.
func procSteal(t *testing.T) (steal, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Skip("no /proc/stat")
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	for i := 1; i <= 8; i++ {
		x, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		total += x
		if i == 8 {
			steal = x
		}
	}
	return steal, total
}

// TestMachineStealAudit: the steal column and the user..steal total, guest
// time (already in user) left out.
func TestMachineStealAudit(t *testing.T) {
	s0, t0 := procSteal(t)
	steal, total := machineSteal()
	s1, t1 := procSteal(t)
	if steal < s0 || steal > s1 || total < t0 || total > t1 {
		t.Fatalf("machineSteal %d of %d, want between %d of %d and %d of %d", steal, total, s0, t0, s1, t1)
	}
}

// TestLatencyFoldsAudit: every percentile of a summary, and every field of
// the median of summaries.
func TestLatencyFoldsAudit(t *testing.T) {
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(i+1) * time.Millisecond
	}
	if l := LatencyOf(ds); math.Abs(l.P95-95.05) > 1e-9 || math.Abs(l.P50-50.5) > 1e-9 {
		t.Fatalf("%+v", l)
	}
	m := MedianLatency([]Latency{{N: 1, P50: 1, P95: 10, P99: 100, Max: 1000, Mean: 5}, {N: 9, P50: 9, P95: 90, P99: 900, Max: 9000, Mean: 45},
		{N: 4, P50: 4, P95: 40, P99: 400, Max: 4000, Mean: 20}})
	if want := (Latency{N: 4, P50: 4, P95: 40, P99: 400, Max: 4000, Mean: 20}); m != want {
		t.Fatalf("median %+v, want %+v", m, want)
	}
}

// TestMedianFoldsAudit: each mode folds its runs figure by figure into
// medians (the rate's worst window into the worst of all runs).
func TestMedianFoldsAudit(t *testing.T) {
	row := PipelineRowOf([]PipelineResult{{N: 7, Concurrency: 3, BarePerSec: 1, PipePerSec: 1, Ratio: 1}})
	if row.N != 7 || row.Concurrency != 3 {
		t.Errorf("row %+v", row)
	}
	rates := MedianRatePoints([][]RatePoint{
		{{Rate: 10, Allowed: 11, Sent: 90, Achieved: 9, Accuracy: 0.9, WorstWindow: 11}},
		{{Rate: 10, Allowed: 11, Sent: 110, Achieved: 11, Accuracy: 1.1, WorstWindow: 13}},
		{{Rate: 10, Allowed: 11, Sent: 100, Achieved: 10, Accuracy: 1.0, WorstWindow: 10}},
	})
	if want := (RatePoint{Rate: 10, Allowed: 11, Sent: 100, Achieved: 10, Accuracy: 1, WorstWindow: 13}); len(rates) != 1 || rates[0] != want {
		t.Errorf("rate %+v, want %+v", rates, want)
	}
	lat := func(x float64) LatencyResult {
		return LatencyResult{Pages: 5, Points: []LatencyPoint{{Offered: 100, Replies: 50, Enqueued: x, Sent: int(x), Throughput: 2 * x,
			Latency: Latency{P99: 3 * x}, ProducerLag: Latency{P99: 4 * x}}}}
	}
	lm := MedianLatencyResults([]LatencyResult{lat(10), lat(30), lat(20)})
	if want := lat(20).Points[0]; lm.Pages != 5 || len(lm.Points) != 1 || lm.Points[0] != want {
		t.Errorf("latency %+v, want %+v", lm, want)
	}
	pages := func(x float64) PagesResult {
		run := func(bad bool, k float64) PagesRun {
			return PagesRun{Bad: bad, Replies: 99, Sent: int(k * x), Throughput: k * x, Latency: Latency{P99: k * x},
				BadSent: int(k*x) + 1, BadRefused: int(k*x) + 2}
		}
		return PagesResult{Pages: 9, Baseline: run(false, 1), WithBad: run(true, 2)}
	}
	if pm, want := MedianPagesResults([]PagesResult{pages(10), pages(30), pages(20)}), pages(20); pm != want {
		t.Errorf("pages %+v, want %+v", pm, want)
	}
	poll := func(x float64) PollFigures {
		return PollFigures{Posts: 4, Comments: 8, FirstCalls: int(x), SecondCalls: int(x) + 1, FirstSeconds: x, SecondSeconds: 2 * x,
			ScannedPerSec: 3 * x, PeakLiveHeapMiB: 4 * x, HeapGrowth: 5 * x}
	}
	if pm, want := MedianPollFigures([]PollFigures{poll(10), poll(30), poll(20)}), poll(20); pm != want {
		t.Errorf("poll %+v, want %+v", pm, want)
	}
	f := PollFiguresOf(PollResult{HeapGrowth: 1.5, Full: PollRun{Posts: 2, Comments: 6, FirstSeen: 600, FirstDuration: 2 * time.Second,
		SecondDuration: time.Second / 2, PeakLiveHeap: 3 << 20,
		FirstCalls:  map[string]int{sandbox.EndpointFeed: 1, sandbox.EndpointComments: 2, "other": 50},
		SecondCalls: map[string]int{sandbox.EndpointFeed: 3, sandbox.EndpointComments: 4, "other": 50}}})
	if want := (PollFigures{Posts: 2, Comments: 6, FirstCalls: 3, SecondCalls: 7, FirstSeconds: 2, SecondSeconds: 0.5, ScannedPerSec: 300,
		PeakLiveHeapMiB: 3, HeapGrowth: 1.5}); f != want {
		t.Errorf("poll figures %+v, want %+v", f, want)
	}
	red := func(x float64) RedisResult {
		c := Calls{Commands: x, RoundTrips: x / 2, ByCommand: map[string]float64{"evalsha": x}}
		return RedisResult{N: 10, QueuedUsedMemory: x, QueuedKeyMemory: 2 * x, SentUsedMemory: 3 * x, SentKeyMemory: 4 * x,
			LedgerEntry: 5 * x, RetainedTask: 6 * x, Drain: 7 * x, OtherClients: int(x),
			Commands: map[string]float64{"get": x, "evalsha": 2 * x}, Owners: map[string]Calls{"ledger": c},
			BookkeepingPerSec: c, BookkeepingPerReply: c}
	}
	rm := MedianRedisResults([]RedisResult{red(10), red(30), red(20)})
	want := red(20)
	want.OtherClients, want.CommandsTotal = 30, 60
	if rm.N != want.N || rm.QueuedUsedMemory != want.QueuedUsedMemory || rm.QueuedKeyMemory != want.QueuedKeyMemory ||
		rm.SentUsedMemory != want.SentUsedMemory || rm.SentKeyMemory != want.SentKeyMemory || rm.LedgerEntry != want.LedgerEntry ||
		rm.RetainedTask != want.RetainedTask || rm.Drain != want.Drain || rm.OtherClients != want.OtherClients ||
		rm.CommandsTotal != want.CommandsTotal || rm.Commands["get"] != 20 || rm.Commands["evalsha"] != 40 ||
		rm.Owners["ledger"].Commands != 20 || rm.Owners["ledger"].RoundTrips != 10 || rm.Owners["ledger"].ByCommand["evalsha"] != 20 ||
		rm.BookkeepingPerSec.Commands != 20 || rm.BookkeepingPerReply.RoundTrips != 10 {
		t.Errorf("redis %+v, want %+v", rm, want)
	}
}

// TestRunRateWindowAudit: the sends counted are those of the measured second
// alone (after the warm-up), so no more than the worst one-second window
// (not checked against Allowed: under load the sandbox's receive times
// bunch up);
// the achieved rate is per second of it; each combination starts on a
// flushed database (the first one's backlog is still queued when it ends).
func TestRunRateWindowAudit(t *testing.T) {
	db := redistest.New(t)
	pts, err := RunRate(context.Background(), RateOptions{RedisURL: db.URL(), Rates: []int{20, 30}, Workers: []int{1}, Duration: time.Second,
		Warmup: 300 * time.Millisecond, Dir: t.TempDir(), Command: workerChild})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 {
		t.Fatalf("points %+v", pts)
	}
	for _, p := range pts {
		if p.Sent <= 0 || p.Sent > p.WorstWindow || p.Allowed != p.Rate+1 {
			t.Errorf("%d/s: sent %d in the measured second, worst 1-s window %d, allowed %d", p.Rate, p.Sent, p.WorstWindow, p.Allowed)
		}
		if p.Achieved != float64(p.Sent) || p.Accuracy != p.Achieved/float64(p.Rate) {
			t.Errorf("point %+v: want achieved = sent over 1 s, accuracy = achieved / rate", p)
		}
	}
	if n, err := db.Client.DBSize(context.Background()).Result(); err != nil || n != 0 {
		t.Errorf("the database holds %d keys after the run (%v)", n, err)
	}
}

// TestRunLatencyLoadAudit: a load of r replies per second for d offers r×d
// replies, every one sent and timed.
func TestRunLatencyLoadAudit(t *testing.T) {
	db := redistest.New(t)
	res, err := RunLatency(context.Background(), LatencyOptions{Redis: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB},
		Rates: []float64{100}, Duration: 300 * time.Millisecond, Pages: 3, Concurrency: 10, Producers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Points[0]; p.Offered != 100 || p.Replies != 30 || p.Sent != 30 || p.Latency.N != 30 || res.Pages != 3 {
		t.Fatalf("point %+v, pages %d: want 30 replies sent of 100/s for 300 ms over 3 Pages", p, res.Pages)
	}
}

// TestServerConfigAudit: both phases' servers run the asked concurrency on
// the replies queue alone.
func TestServerConfigAudit(t *testing.T) {
	c := serverConfig(PipelineOptions{Concurrency: 7})
	if c.Concurrency != 7 || len(c.Queues) != 1 || c.Queues[tasks.QueueReplies] != 1 {
		t.Fatalf("config %+v", c)
	}
}
