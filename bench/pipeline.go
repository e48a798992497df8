// Package bench owns pagereply's end-to-end benchmarks: whole runs against a
// real Redis and the Graph sandbox whose figures the `pagereply bench` command
// prints as tables. Micro-benchmarks live beside their code as BenchmarkX.
package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// PipelineOptions configures RunPipeline.
type PipelineOptions struct {
	// Redis is an empty database; RunPipeline flushes it before each run and after.
	Redis asynq.RedisConnOpt
	// N is the number of tasks per run; if zero, 20,000.
	N int
	// Concurrency of the asynq server; if zero, 50.
	Concurrency int
	// HTTP sends Graph calls over loopback HTTP instead of calling the
	// in-process sandbox's handler directly.
	HTTP bool
	// Progress, if set, gets a line per finished run.
	Progress io.Writer
	// PipelineFirst runs the reply path before bare asynq. The reply path
	// was measured 4–14 % faster when it ran first (bare asynq showed no such
	// difference), so `pagereply bench pipeline` alternates the order from
	// run to run.
	PipelineFirst bool
	// DequeueLatency times asynq's dequeue round trips in both phases
	// (PipelineResult.BareDequeue, PipeDequeue).
	DequeueLatency bool
}

// PipelineResult holds one pipeline comparison.
type PipelineResult struct {
	N           int
	Concurrency int
	BarePerSec  float64
	PipePerSec  float64
	Ratio       float64
	// CPU spent per task while the queue drained, in this process and in
	// Redis: on a small machine both share the cores, so their sum bounds the
	// rate.
	BareCPU, PipeCPU CPUCost
	// Ledger counts the pipeline's ledger round trips and script calls.
	Ledger tasks.BatchStats
	// BareDequeue and PipeDequeue are asynq's dequeue round trips in each
	// phase, with PipelineOptions.DequeueLatency (else nil).
	BareDequeue, PipeDequeue *DequeueLatency
}

// CPUCost is CPU time per task, split between this process and Redis, and
// the bytes this process allocated per task (the garbage its collector then
// spends CPU on).
type CPUCost struct {
	Go, Redis time.Duration
	Alloc     uint64
	// Steal is the share of the machine's CPU time its hypervisor gave to
	// others while the phase ran (/proc/stat; 0 where unknown): the noise a
	// virtual machine's figures carry.
	Steal float64
}

// RunPipeline measures the drain rate of N no-op tasks through bare asynq, then
// of N reply tasks through pagereply's full reply path (ledger reserve, send to
// the sandbox with no limit and no latency, ledger mark), on the same Redis with
// the same server settings.
func RunPipeline(ctx context.Context, o PipelineOptions) (PipelineResult, error) {
	if o.N <= 0 {
		o.N = 20000
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 50
	}
	rdb := tasks.NewRedisClient(o.Redis)
	defer rdb.Close()
	if n, err := rdb.DBSize(ctx).Result(); err != nil {
		return PipelineResult{}, fmt.Errorf("bench: redis: %w", err)
	} else if n > 0 {
		return PipelineResult{}, fmt.Errorf("bench: the Redis database holds %d keys; give an empty one (--redis redis://host:6379/15)", n)
	}
	defer rdb.FlushDB(context.Background())

	// Profile labels split a --cpuprofile by phase (pprof -tagfocus
	// phase=pipeline): goroutines started in a phase, asynq's and the
	// ledger's included, inherit its label.
	var (
		bare, pipe       float64
		bareCPU, pipeCPU CPUCost
		stats            tasks.BatchStats
		err              error
		bareDQ, pipeDQ   *dequeueWatch
	)
	if o.DequeueLatency {
		bareDQ, pipeDQ = &dequeueWatch{}, &dequeueWatch{}
	}
	runBarePhase := func() error {
		pprof.Do(ctx, pprof.Labels("phase", "bare"), func(ctx context.Context) { bare, bareCPU, err = runBare(ctx, o, rdb, bareDQ) })
		if err == nil && o.Progress != nil {
			fmt.Fprintf(o.Progress, "bare asynq: %d tasks, %.0f/s\n", o.N, bare)
		}
		return err
	}
	runPipePhase := func() error {
		pprof.Do(ctx, pprof.Labels("phase", "pipeline"), func(ctx context.Context) { pipe, pipeCPU, stats, err = runReplies(ctx, o, rdb, pipeDQ) })
		if err == nil && o.Progress != nil {
			fmt.Fprintf(o.Progress, "pipeline:   %d replies, %.0f/s\n", o.N, pipe)
		}
		return err
	}
	phases := []func() error{runBarePhase, runPipePhase}
	if o.PipelineFirst {
		phases[0], phases[1] = phases[1], phases[0]
	}
	for _, run := range phases {
		if err := run(); err != nil {
			return PipelineResult{}, err
		}
	}
	return PipelineResult{N: o.N, Concurrency: o.Concurrency, BarePerSec: bare, PipePerSec: pipe, Ratio: pipe / bare,
		BareCPU: bareCPU, PipeCPU: pipeCPU, Ledger: stats, BareDequeue: bareDQ.result(), PipeDequeue: pipeDQ.result()}, nil
}

// serverConfig is the asynq configuration both runs share: a worker's replies
// server (polls run on a server of their own).
func serverConfig(o PipelineOptions) asynq.Config {
	return asynq.Config{
		Concurrency:       o.Concurrency,
		Queues:            map[string]int{tasks.QueueReplies: 1},
		TaskCheckInterval: 20 * time.Millisecond,
		LogLevel:          asynq.ErrorLevel,
		Logger:            worker.NewAsynqLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
}

func runBare(ctx context.Context, o PipelineOptions, rdb redis.UniversalClient, dq *dequeueWatch) (float64, CPUCost, error) {
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return 0, CPUCost{}, fmt.Errorf("bench: flush: %w", err)
	}
	client := asynq.NewClient(o.Redis)
	defer client.Close()
	enqCtx := pprof.WithLabels(ctx, pprof.Labels("phase", "enqueue"))
	pprof.SetGoroutineLabels(enqCtx)
	for i := 0; i < o.N; i++ {
		// The same options as a reply task: a TaskID and a retention.
		_, err := client.EnqueueContext(ctx, asynq.NewTask("bench:noop", []byte(`{"page_id":"1","target":"comment:`+strconv.Itoa(i)+`","text":"x"}`)),
			asynq.TaskID("comment:"+strconv.Itoa(i)), asynq.Queue(tasks.QueueReplies), asynq.Retention(tasks.DefaultRetention))
		if err != nil {
			return 0, CPUCost{}, fmt.Errorf("bench: enqueue: %w", err)
		}
	}
	pprof.SetGoroutineLabels(ctx)
	done := make(chan struct{}, o.N)
	srv, closeSrv, err := newServer(o, serverConfig(o), dq)
	if err != nil {
		return 0, CPUCost{}, err
	}
	defer closeSrv()
	mux := asynq.NewServeMux()
	mux.HandleFunc("bench:noop", func(context.Context, *asynq.Task) error { done <- struct{}{}; return nil })
	cpu := startCPU(ctx, rdb)
	start := time.Now()
	if err := srv.Start(mux); err != nil {
		return 0, CPUCost{}, fmt.Errorf("bench: start: %w", err)
	}
	defer srv.Shutdown()
	rate, err := drain(ctx, done, o.N, start)
	return rate, cpu.per(ctx, o.N), err
}

func drain(ctx context.Context, done <-chan struct{}, n int, start time.Time) (float64, error) {
	timeout := time.NewTimer(10 * time.Minute)
	defer timeout.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-done:
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-timeout.C:
			return 0, fmt.Errorf("bench: only %d of %d tasks done after 10 minutes", i, n)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// countingHandler reports each finished reply task.
type countingHandler struct {
	next asynq.Handler
	done chan<- struct{}
}

func (h countingHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	err := h.next.ProcessTask(ctx, t)
	if err == nil {
		h.done <- struct{}{}
	}
	return err
}

func runReplies(ctx context.Context, o PipelineOptions, rdb redis.UniversalClient, dq *dequeueWatch) (float64, CPUCost, tasks.BatchStats, error) {
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		return 0, CPUCost{}, tasks.BatchStats{}, fmt.Errorf("bench: flush: %w", err)
	}
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Comments: 0, Seed: 1})
	page := sb.Pages()[0]
	postID := sb.Posts(page.ID)[0].ID
	targets := make([]string, o.N)
	now := time.Now()
	for i := range targets {
		targets[i] = sb.AddComment(postID, sandbox.User{ID: strconv.Itoa(1000000 + i), Name: "Bench Person"}, "hello", now)
	}

	gc := graph.Config{BaseURL: "http://sandbox.invalid"}
	if o.HTTP {
		srv := httptest.NewServer(sb)
		defer srv.Close()
		gc.BaseURL = srv.URL
	} else {
		tr := newServerTransport(sb, 16)
		defer tr.close()
		gc.HTTPClient = &http.Client{Transport: tr}
	}
	gclient := graph.New(gc)

	linger, flushAt := tasks.BatchOptions(o.Concurrency)
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true, Linger: linger, FlushAt: flushAt})
	defer ledger.Close()
	client := asynq.NewClient(o.Redis)
	defer client.Close()
	enq := &tasks.Enqueuer{Client: client, Ledger: ledger, MaxRetry: 10}
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("phase", "enqueue")))
	for _, id := range targets {
		r := tasks.Reply{PageID: page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks!", Source: tasks.SourcePoll,
			Created: time.Now().UnixMilli()}
		if out, _, err := enq.Enqueue(ctx, r); err != nil || out != tasks.Enqueued {
			return 0, CPUCost{}, tasks.BatchStats{}, fmt.Errorf("bench: enqueue reply: %v %w", out, err)
		}
	}
	pprof.SetGoroutineLabels(ctx)
	pg := config.Page{ID: page.ID, AccessToken: page.Token, Rate: config.Rate{}, Burst: 1}
	w := worker.New(worker.Params{Redis: o.Redis, Ledger: ledger, Graph: gclient, MaxRetry: 10, Pages: []config.Page{pg},
		Concurrency: o.Concurrency, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	done := make(chan struct{}, o.N)
	if dq != nil {
		dq.ledgerBusy = func() bool { return ledger.PipelinesOnWire() > 0 }
	}
	srv, closeSrv, err := newServer(o, serverConfig(o), dq)
	if err != nil {
		return 0, CPUCost{}, tasks.BatchStats{}, err
	}
	defer closeSrv()
	cpu := startCPU(ctx, rdb)
	start := time.Now()
	if err := srv.Start(countingHandler{next: w.Handler(), done: done}); err != nil {
		return 0, CPUCost{}, tasks.BatchStats{}, fmt.Errorf("bench: start: %w", err)
	}
	defer srv.Shutdown()
	rate, err := drain(ctx, done, o.N, start)
	if err != nil {
		return 0, CPUCost{}, tasks.BatchStats{}, err
	}
	cost := cpu.per(ctx, o.N)
	stats := ledger.BatchStats()
	if got := len(sb.Sends()); got != o.N {
		return 0, CPUCost{}, tasks.BatchStats{}, fmt.Errorf("bench: sandbox recorded %d sends for %d replies", got, o.N)
	}
	return rate, cost, stats, nil
}

// cpuMark is a reading of this process's and Redis's CPU time.
type cpuMark struct {
	rdb          redis.UniversalClient
	goS, rdbS    float64
	alloc        uint64
	steal, total uint64
}

func startCPU(ctx context.Context, rdb redis.UniversalClient) cpuMark {
	m := cpuMark{rdb: rdb, goS: processCPU(), rdbS: redisCPU(ctx, rdb), alloc: allocBytes()}
	m.steal, m.total = machineSteal()
	return m
}

// per returns the CPU spent since the mark, per task.
func (m cpuMark) per(ctx context.Context, n int) CPUCost {
	each := func(s float64) time.Duration { return time.Duration(s / float64(n) * float64(time.Second)) }
	c := CPUCost{Go: each(processCPU() - m.goS), Redis: each(redisCPU(ctx, m.rdb) - m.rdbS), Alloc: (allocBytes() - m.alloc) / uint64(n)}
	if steal, total := machineSteal(); total > m.total && steal >= m.steal {
		c.Steal = float64(steal-m.steal) / float64(total-m.total)
	}
	return c
}

// machineSteal reads the machine's stolen and total CPU time so far, in
// clock ticks, from /proc/stat's first line; zeros where it cannot.
func machineSteal() (steal, total uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice,
	// already counted in user and nice]
	for i, v := range f[1:9] {
		x, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0
		}
		total += x
		if i == 7 {
			steal = x
		}
	}
	return steal, total
}

// allocBytes is the bytes this process allocated on the heap so far.
func allocBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// processCPU is this process's user+system CPU time in seconds.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// redisCPU is the Redis server's user+system CPU time in seconds (INFO cpu);
// zero when it cannot be read (a Cluster: the figure then shows 0).
func redisCPU(ctx context.Context, rdb redis.UniversalClient) float64 {
	info, err := rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_user" || k == "used_cpu_sys") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return total
}

// handlerTransport serves requests with an in-process handler on the
// caller's goroutine, skipping the network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return serve(t.h, r)
}

// serverTransport serves requests with an in-process handler, skipping the
// network: the sandbox with no latency, as the "in-process" asks. As
// over HTTP, the handler runs on server goroutines, not on the caller's: the
// caller's goroutine (asynq's, one per task) would otherwise grow its stack
// to the sandbox's depth on every task, a cost a real Graph call never has.
type serverTransport struct {
	reqs chan transportCall
}

type transportCall struct {
	r   *http.Request
	out chan transportResult
}

type transportResult struct {
	resp *http.Response
	err  error
}

// newServerTransport starts n server goroutines running h; stop them with close.
func newServerTransport(h http.Handler, n int) serverTransport {
	t := serverTransport{reqs: make(chan transportCall)}
	for i := 0; i < n; i++ {
		go func() {
			for c := range t.reqs {
				resp, err := serve(h, c.r)
				c.out <- transportResult{resp, err}
			}
		}()
	}
	return t
}

func (t serverTransport) close() { close(t.reqs) }

func (t serverTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c := transportCall{r: r, out: make(chan transportResult, 1)}
	select {
	case t.reqs <- c:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	res := <-c.out
	return res.resp, res.err
}

// serve runs h on r and returns its answer as a client would get it. A
// handler that aborts (the sandbox dropping an answer) is a broken
// connection.
func serve(h http.Handler, r *http.Request) (resp *http.Response, err error) {
	w := &memWriter{h: make(http.Header, 4)}
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			resp, err = nil, io.ErrUnexpectedEOF
		}
	}()
	h.ServeHTTP(w, r)
	return w.response(r), nil
}

// memWriter is an http.ResponseWriter that keeps the answer in memory. Unlike
// httptest.ResponseRecorder it hands its header map to the response instead
// of copying it: the bench measures pagereply, not the recorder.
type memWriter struct {
	h      http.Header
	status int
	body   []byte
}

func (w *memWriter) Header() http.Header { return w.h }

func (w *memWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *memWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.body = append(w.body, b...)
	return len(b), nil
}

func (w *memWriter) response(r *http.Request) *http.Response {
	w.WriteHeader(http.StatusOK)
	status := "200 OK"
	if w.status != http.StatusOK {
		status = strconv.Itoa(w.status) + " " + http.StatusText(w.status)
	}
	return &http.Response{Status: status, StatusCode: w.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: w.h, Body: io.NopCloser(bytes.NewReader(w.body)), ContentLength: int64(len(w.body)), Request: r}
}
