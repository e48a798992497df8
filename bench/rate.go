package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// RateOptions configures RunRate.
type RateOptions struct {
	// RedisURL is an empty database (redis://host:port/db), given to the
	// worker processes in their config; RunRate flushes it before each run
	// and after.
	RedisURL string
	// Rates are the configured per-Page rates, sends per second; if empty,
	// 10, 50 and 300.
	Rates []int
	// Burst is the Page's configured burst; if zero, 1.
	Burst int
	// Workers are the numbers of worker processes; if empty, 1, 3 and 6.
	Workers []int
	// Concurrency of each worker process (worker.concurrency); if zero, 20.
	Concurrency int
	// Duration is how long each combination is measured, after Warmup; if
	// zero, 10s.
	Duration time.Duration
	// Warmup follows the first send and is left out of the achieved rate
	// (not of the worst window); if zero, 1s.
	Warmup time.Duration
	// Command returns the command that runs one worker process with the
	// config file at path (`pagereply worker -c path`); required.
	Command func(configPath string) *exec.Cmd
	// Dir is where the config files go; if empty, a temporary directory.
	Dir string
	// Progress, if set, gets a line per combination.
	Progress io.Writer
}

// RatePoint is one combination's figures.
type RatePoint struct {
	Rate    int `json:"rate_per_s"`
	Burst   int `json:"burst"`
	Workers int `json:"workers"`
	// Sent in the measured window, and Achieved sends per second there.
	Sent     int     `json:"sent"`
	Achieved float64 `json:"achieved_per_s"`
	// Accuracy is Achieved / Rate.
	Accuracy float64 `json:"accuracy"`
	// WorstWindow is the most sends that reached the sandbox in any one
	// second of the run (warm-up included: a start is where bursts happen);
	// Allowed is Rate + Burst, which SPEC says it must not exceed.
	WorstWindow int `json:"worst_1s_window"`
	Allowed     int `json:"allowed_1s"`
}

// RunRate measures per-Page rate accuracy across real worker processes: for
// each rate and number of processes, one sandbox Page (over loopback HTTP)
// configured at that rate, a backlog larger than the run can send, and that
// many processes started with Command against the same Redis. It counts the
// sends the sandbox received in the measured window and the most in any one
// second.
func RunRate(ctx context.Context, o RateOptions) ([]RatePoint, error) {
	if len(o.Rates) == 0 {
		o.Rates = []int{10, 50, 300}
	}
	if o.Burst <= 0 {
		o.Burst = 1
	}
	if len(o.Workers) == 0 {
		o.Workers = []int{1, 3, 6}
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 20
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Warmup <= 0 {
		o.Warmup = time.Second
	}
	if o.Command == nil {
		return nil, fmt.Errorf("bench: RateOptions.Command is required")
	}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "pagereply-bench-rate")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		o.Dir = dir
	}
	opt, err := tasks.RedisConnOpt(config.Redis{URL: o.RedisURL})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	rdb := tasks.NewRedisClient(opt)
	defer rdb.Close()
	if err := emptyDB(ctx, rdb); err != nil {
		return nil, err
	}
	defer rdb.FlushDB(context.Background())

	var out []RatePoint
	for _, k := range o.Workers {
		for _, r := range o.Rates {
			if err := rdb.FlushDB(ctx).Err(); err != nil {
				return out, fmt.Errorf("bench: flush: %w", err)
			}
			pt, err := rateOnce(ctx, o, opt, r, k)
			if err != nil {
				return out, err
			}
			out = append(out, pt)
			if o.Progress != nil {
				fmt.Fprintf(o.Progress, "rate %d/s with %d worker process(es): %.1f/s achieved (%.3f), worst 1-s window %d (allowed %d)\n",
					r, k, pt.Achieved, pt.Accuracy, pt.WorstWindow, pt.Allowed)
			}
		}
	}
	return out, nil
}

func rateOnce(ctx context.Context, o RateOptions, opt asynq.RedisConnOpt, rate, workers int) (RatePoint, error) {
	pt := RatePoint{Rate: rate, Burst: o.Burst, Workers: workers, Allowed: rate + o.Burst}
	// LogCalls: the run's windows are counted over CallLog; a run is short.
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Seed: 1, LogCalls: true})
	srv := httptest.NewServer(sb)
	defer srv.Close()
	page := sb.Pages()[0]
	post := sb.Posts(page.ID)[0].ID

	// A backlog the run cannot exhaust, queued before the workers start so
	// enqueueing does not share the cores with the measured sends.
	client := asynq.NewClient(opt)
	defer client.Close()
	rdb := tasks.NewRedisClient(opt)
	defer rdb.Close()
	enq := &tasks.Enqueuer{Client: client, Ledger: tasks.NewLedger(rdb, tasks.LedgerOptions{}), MaxRetry: 10}
	backlog := int(float64(rate)*(o.Warmup+o.Duration).Seconds()) + 3*rate + 10
	now := time.Now().Add(-time.Minute)
	for i := range backlog {
		id := sb.AddComment(post, sandbox.User{ID: strconv.Itoa(20_000_000 + i), Name: "Bench Person"}, "hello", now)
		r := tasks.Reply{PageID: page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks!", Source: tasks.SourceAPI}
		if out, _, err := enq.Enqueue(ctx, r); err != nil || out != tasks.Enqueued {
			return pt, fmt.Errorf("bench: enqueue: %v %w", out, err)
		}
	}

	cfgPath := filepath.Join(o.Dir, fmt.Sprintf("rate-%d-%d.yaml", rate, workers))
	cfg := fmt.Sprintf(`redis: {url: %q}
graph: {base_url: %q, timeout: 5s}
pages:
  - id: %q
    access_token: %q
    rate: %d/s
    burst: %d
    default_text: "Thanks!"
worker: {concurrency: %d}
log: {level: warn, format: text}
`, o.RedisURL, srv.URL, page.ID, page.Token, rate, o.Burst, o.Concurrency)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return pt, fmt.Errorf("bench: %w", err)
	}
	defer os.Remove(cfgPath)

	procs, err := startWorkers(o.Command, cfgPath, workers)
	defer procs.stop()
	if err != nil {
		return pt, err
	}
	if err := procs.waitServers(ctx, opt, workers, 30*time.Second); err != nil {
		return pt, err
	}

	// Measure from the first send the sandbox saw.
	var first time.Time
	for deadline := time.Now().Add(30 * time.Second); first.IsZero(); {
		if log := sb.CallLog(page.ID); len(log) > 0 {
			first = log[0]
			break
		}
		if time.Now().After(deadline) {
			return pt, fmt.Errorf("bench: no send within 30s of %d workers starting%s", workers, procs.output())
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return pt, err
		}
	}
	from, to := first.Add(o.Warmup), first.Add(o.Warmup+o.Duration)
	if err := sleepCtx(ctx, time.Until(to)+100*time.Millisecond); err != nil {
		return pt, err
	}
	if err := procs.exited(); err != nil {
		return pt, err
	}
	for _, at := range sb.CallLog(page.ID) {
		if !at.Before(from) && at.Before(to) {
			pt.Sent++
		}
	}
	procs.stop()
	pt.Achieved = float64(pt.Sent) / o.Duration.Seconds()
	pt.Accuracy = pt.Achieved / float64(rate)
	pt.WorstWindow = sb.MaxCallsIn(page.ID, time.Second)
	return pt, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// workerProcs are the worker processes of one combination.
type workerProcs struct {
	cmds []*exec.Cmd
	done []chan struct{}
	out  []*lockedBuffer
	once sync.Once
}

// lockedBuffer keeps the last output of a child process for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		l.b.Reset()
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startWorkers(command func(string) *exec.Cmd, cfgPath string, n int) (*workerProcs, error) {
	p := &workerProcs{}
	for range n {
		cmd := command(cfgPath)
		buf := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = buf, buf
		if err := cmd.Start(); err != nil {
			return p, fmt.Errorf("bench: start worker process: %w", err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		p.cmds, p.done, p.out = append(p.cmds, cmd), append(p.done, done), append(p.out, buf)
	}
	return p, nil
}

// waitServers waits until asynq servers of n processes are registered in
// Redis: every worker process is taking tasks.
func (p *workerProcs) waitServers(ctx context.Context, opt asynq.RedisConnOpt, n int, timeout time.Duration) error {
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	deadline := time.Now().Add(timeout)
	for {
		if err := p.exited(); err != nil {
			return err
		}
		if ss, err := insp.Servers(); err == nil {
			// A worker process runs two servers (replies; polls): it takes
			// replies once its replies server is up.
			procs := map[string]bool{}
			for _, s := range ss {
				if s.Queues[tasks.QueueReplies] > 0 {
					procs[s.Host+":"+strconv.Itoa(s.PID)] = true
				}
			}
			if len(procs) >= n {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %d worker processes not all running after %s%s", n, timeout, p.output())
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
}

// exited returns an error if a worker process has exited.
func (p *workerProcs) exited() error {
	for i, d := range p.done {
		select {
		case <-d:
			return fmt.Errorf("bench: worker process %d exited (%v)%s", i+1, p.cmds[i].ProcessState, p.output())
		default:
		}
	}
	return nil
}

func (p *workerProcs) output() string {
	var b bytes.Buffer
	for i, o := range p.out {
		if s := o.String(); s != "" {
			fmt.Fprintf(&b, "\nworker process %d said:\n%s", i+1, s)
		}
	}
	return b.String()
}

// stop sends SIGTERM to every process, waits up to 5s for them, then kills
// what is left.
func (p *workerProcs) stop() {
	p.once.Do(func() {
		for i, c := range p.cmds {
			select {
			case <-p.done[i]:
			default:
				_ = c.Process.Signal(syscall.SIGTERM)
			}
		}
		deadline := time.After(5 * time.Second)
		for i, c := range p.cmds {
			select {
			case <-p.done[i]:
			case <-deadline:
				_ = c.Process.Kill()
				<-p.done[i]
			}
		}
	})
}

// MedianRatePoints folds several runs into one: per combination, the median
// achieved rate and accuracy and the worst window of all runs (a bound holds
// only if it holds every time).
func MedianRatePoints(runs [][]RatePoint) []RatePoint {
	if len(runs) == 0 {
		return nil
	}
	var out []RatePoint
	for i, pt := range runs[0] {
		var sent, ach, acc []float64
		worst := 0
		for _, r := range runs {
			if i >= len(r) {
				continue
			}
			sent, ach, acc = append(sent, float64(r[i].Sent)), append(ach, r[i].Achieved), append(acc, r[i].Accuracy)
			worst = max(worst, r[i].WorstWindow)
		}
		pt.Sent, pt.Achieved, pt.Accuracy, pt.WorstWindow = int(Median(sent)), Median(ach), Median(acc), worst
		out = append(out, pt)
	}
	return out
}
