package worker_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// childEnv names the variable that turns the test binary into a worker process
// for the kill and rate tests: real processes, killed for real.
const childEnv = "PAGEREPLY_TEST_WORKER_CHILD"

// childSpec is what a worker child process runs.
type childSpec struct {
	RedisAddr   string        `json:"redis_addr"`
	RedisDB     int           `json:"redis_db"`
	GraphURL    string        `json:"graph_url"`
	Pages       []config.Page `json:"pages"`
	Concurrency int           `json:"concurrency"`
	// Poll: the worker runs poll tasks too, with the default poll lease.
	Poll bool `json:"poll"`
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	flag.Parse()
	if !flagSet("test.parallel") {
		// The parallel tests (t.Parallel) spend most of their run waiting on
		// the product's timers (leases, settle times, pauses, a Redis away),
		// not on the CPU (the package's run keeps about a third of one core
		// busy on a 2-core machine): eight at a time rather than GOMAXPROCS
		// (two on a 2-core CI machine) keeps the package's run minutes
		// shorter, and eight running tests and the two paused holding one
		// (TestRateAcrossProcesses, TestKilledWorker) leave redistest's
		// fifteen databases room for another package's tests. A
		// test that measures a tight rate or spacing does so before it
		// calls t.Parallel, or stays sequential; the parallel ones that
		// measure one (TestLonePageKeepsItsRate, TestWebhookItemsHoldNoReplySlots)
		// ask for a fraction of a modest rate.
		_ = flag.Set("test.parallel", "8")
	}
	os.Exit(m.Run())
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func runChild(spec string) int {
	var s childSpec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	opt := asynq.RedisClientOpt{Addr: s.RedisAddr, DB: s.RedisDB}
	rdb := tasks.NewRedisClient(opt)
	defer rdb.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true})
	p := testParams(opt, ledger, graph.New(graph.Config{BaseURL: s.GraphURL, Timeout: 2 * time.Second}), s.Pages, s.Concurrency, log)
	if s.Poll {
		client := asynq.NewClient(opt)
		defer client.Close()
		p.Poll = worker.NewPollHandler(worker.PollParams{
			Graph:  graph.New(graph.Config{BaseURL: s.GraphURL, Timeout: 5 * time.Second}),
			Ledger: ledger, Enqueuer: &tasks.Enqueuer{Client: client, Ledger: ledger, MaxRetry: 25},
			Pages: s.Pages, Logger: log,
		})
	}
	w := worker.New(p)
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Println("ready")
	<-ctx.Done()
	w.Shutdown(context.Background())
	return 0
}

func testParams(opt asynq.RedisConnOpt, l *tasks.Ledger, g worker.Graph, pages []config.Page, conc int, log *slog.Logger) worker.Params {
	return worker.Params{
		Redis: opt, Ledger: l, Graph: g, Pages: pages, Concurrency: conc, MaxRetry: 25,
		GraphTimeout: 2 * time.Second, BackoffBase: 20 * time.Millisecond, BackoffMax: 500 * time.Millisecond,
		// Short, like the backoff: the tests about the settle time itself
		// (TestLateSendSettles, TestFailoverKeepsSettle) use the default.
		SendSettle:      time.Second,
		ShutdownTimeout: 3 * time.Second, Logger: log,
	}
}

// harness is a real Redis database, the Graph sandbox over loopback HTTP, and
// the enqueue side of pagereply.
type harness struct {
	db     *redistest.DB
	sb     *sandbox.Sandbox
	srv    *httptest.Server
	opt    asynq.RedisClientOpt
	ledger *tasks.Ledger
	enq    *tasks.Enqueuer
	pages  []config.Page
}

func newHarness(t *testing.T, opts sandbox.Options) *harness {
	t.Helper()
	return newHarnessOn(t, opts, redistest.New(t))
}

// newHarnessOn is newHarness on the Redis database db.
func newHarnessOn(t *testing.T, opts sandbox.Options, db *redistest.DB) *harness {
	t.Helper()
	opts.LogCalls = true // tests read CallLog; each sends a bounded number
	// Checks of sends per second allow for the stalls of this process
	// (sandbox.CheckSends), and only for them.
	opts.WatchStalls = true
	sb := sandbox.New(opts)
	t.Cleanup(sb.Close)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	ledger := tasks.NewLedger(db.Client, tasks.LedgerOptions{Batch: true})
	t.Cleanup(ledger.Close)
	h := &harness{db: db, sb: sb, srv: srv, opt: opt, ledger: ledger,
		enq: &tasks.Enqueuer{Client: client, Ledger: ledger, MaxRetry: 25}}
	for _, p := range sb.Pages() {
		h.pages = append(h.pages, config.Page{ID: p.ID, AccessToken: p.Token, Rate: config.Rate{N: 100000, Per: time.Second}, Burst: 1})
	}
	return h
}

// addComments puts n fresh, replyable visitor comments on a new post of page
// and returns their reply tasks.
func (h *harness) addComments(page string, n int, text string) []tasks.Reply {
	post := h.sb.AddPost(page, sandbox.User{ID: page}, "A post", time.Now().Add(-time.Hour))
	out := make([]tasks.Reply, n)
	for i := range out {
		id := h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(5000000 + i), Name: "Visitor " + strconv.Itoa(i)}, "hello", time.Now().Add(-time.Minute))
		out[i] = tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: text, Source: tasks.SourcePoll}
	}
	return out
}

func (h *harness) startWorker(t *testing.T, conc int) *worker.Worker {
	t.Helper()
	return h.startWorkerOn(t, h.opt, conc)
}

// startWorkerOn starts a worker whose asynq server reaches Redis through opt,
// with the harness's ledger and the sandbox as Graph unless tweaks change its
// Params; t's cleanup shuts it down.
func (h *harness) startWorkerOn(t *testing.T, opt asynq.RedisConnOpt, conc int, tweaks ...func(*worker.Params)) *worker.Worker {
	t.Helper()
	g := graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second})
	p := testParams(opt, h.ledger, g, h.pages, conc, testLogger())
	for _, tw := range tweaks {
		tw(&p)
	}
	w := worker.New(p)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Shutdown(context.Background()) })
	return w
}

// startChild runs a worker in a separate process (this test binary in child mode).
func (h *harness) startChild(t *testing.T, pages []config.Page, conc int) *exec.Cmd {
	t.Helper()
	return h.startChildSpec(t, childSpec{RedisAddr: h.db.Addr, RedisDB: h.db.DB, GraphURL: h.srv.URL, Pages: pages, Concurrency: conc})
}

// startChildSpec runs a worker in a separate process as s says.
func (h *harness) startChildSpec(t *testing.T, s childSpec) *exec.Cmd {
	t.Helper()
	spec, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	proctest.DieWithParent(cmd) // a timed-out run leaves no worker behind
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("worker child did not start: %q %v", buf, err)
	}
	return cmd
}

// lostAnswer leaves r's target as an attempt whose answer was lost leaves it:
// claimed (by token "t1"), then marked unknown, so the next attempt checks
// Graph first. The attempt's other steps, e.g. its person claim, run in
// between.
func (h *harness) lostAnswer(t *testing.T, r tasks.Reply, steps ...func()) {
	t.Helper()
	ctx := context.Background()
	res, err := h.ledger.Reserve(ctx, r.PageID, r.Target, "t1", time.Minute, tasks.Limit{})
	if err != nil || res.Outcome != tasks.ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	for _, step := range steps {
		step()
	}
	if err := h.ledger.MarkUnknown(ctx, r.PageID, r.Target, 0); err != nil {
		t.Fatal(err)
	}
}

// enqueueAll enqueues rs, failing the test on an error.
func (h *harness) enqueueAll(t *testing.T, rs []tasks.Reply) {
	t.Helper()
	for _, r := range rs {
		if _, _, err := h.enq.Enqueue(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

// waitSent waits until the ledger has every reply sent.
func (h *harness) waitSent(t *testing.T, rs []tasks.Reply, timeout time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(timeout)
	byPage := map[string][]tasks.Target{}
	for _, r := range rs {
		byPage[r.PageID] = append(byPage[r.PageID], r.Target)
	}
	for {
		left := 0
		for page, ts := range byPage {
			es, err := h.ledger.GetMany(ctx, page, ts)
			if err != nil {
				t.Fatal(err)
			}
			var rest []tasks.Target
			for i, e := range es {
				if e.Status != tasks.StatusSent {
					rest = append(rest, ts[i])
				}
			}
			byPage[page] = rest
			left += len(rest)
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d replies not sent after %s (queues: %s)", left, len(rs), timeout, h.queueSummary())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitArchived waits until r's task is archived and returns it.
func (h *harness) waitArchived(t *testing.T, r tasks.Reply, timeout time.Duration) *asynq.TaskInfo {
	t.Helper()
	return h.waitTask(t, r, timeout, nil, asynq.TaskStateArchived)
}

// waitPutBack waits until r's task waits for a later attempt (retry or
// scheduled), calling check (if not nil) on each look meanwhile.
func (h *harness) waitPutBack(t *testing.T, r tasks.Reply, timeout time.Duration, check func()) {
	t.Helper()
	h.waitTask(t, r, timeout, check, asynq.TaskStateRetry, asynq.TaskStateScheduled)
}

// waitTask waits until r's task is in one of states and returns it, calling
// check (if not nil) on each look meanwhile.
func (h *harness) waitTask(t *testing.T, r tasks.Reply, timeout time.Duration, check func(), states ...asynq.TaskState) *asynq.TaskInfo {
	t.Helper()
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	deadline := time.Now().Add(timeout)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
		if err == nil && slices.Contains(states, ti.State) {
			return ti
		}
		if check != nil {
			check()
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply %s not %v after %s: %+v %v (queues: %s)", r.Target, states, timeout, ti, err, h.queueSummary())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLeasedOnly waits (at most timeout, then returns anyway) until the
// replies queue holds no task waiting to run (pending, scheduled or retry):
// what is left is active, such as the tasks a killed worker held until
// asynq's lease recovery. It checks nothing: the waits after it do.
func (h *harness) waitLeasedOnly(t *testing.T, timeout time.Duration) {
	t.Helper()
	insp := asynq.NewInspector(h.opt)
	defer insp.Close()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		info, err := insp.GetQueueInfo(tasks.QueueReplies)
		if err == nil && info.Pending == 0 && info.Scheduled == 0 && info.Retry == 0 {
			return
		}
	}
}

func (h *harness) queueSummary() string {
	info, err := asynq.NewInspector(h.opt).GetQueueInfo(tasks.QueueReplies)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("pending %d active %d scheduled %d retry %d archived %d completed %d",
		info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived, info.Completed)
}

// checkExactlyOnce asserts the sandbox recorded exactly one send per reply,
// and that no send was refused as already replied (10900): like Graph, the
// sandbox records a second send to a comment or post as that refusal, never as
// a second send, so the refusals are where a second attempt shows.
func (h *harness) checkExactlyOnce(t *testing.T, rs []tasks.Reply) {
	t.Helper()
	if n := h.sb.AlreadyRepliedCount(); n != 0 {
		t.Errorf("%d sends were refused as already replied (10900): pagereply sent a second time", n)
	}
	for _, r := range rs {
		if n := h.sb.SendCount(r.Target.ID); n != 1 {
			t.Errorf("target %s got %d sends, want exactly 1", r.Target, n)
		}
	}
	if d := h.sb.Duplicates(); d != 0 {
		t.Errorf("sandbox counted %d duplicate deliveries", d)
	}
	if got := len(h.sb.Sends()); got != len(rs) {
		t.Errorf("sandbox recorded %d sends for %d replies", got, len(rs))
	}
}
