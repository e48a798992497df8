package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// workerChildEnv turns the test binary into a worker process for TestRunRate,
// standing in for `pagereply worker -c FILE`, which the bench command runs.
const workerChildEnv = "PAGEREPLY_BENCH_WORKER_CONFIG"

func TestMain(m *testing.M) {
	if path := os.Getenv(workerChildEnv); path != "" {
		os.Exit(runWorkerChild(path))
	}
	os.Exit(m.Run())
}

// runWorkerChild runs the worker role from a config file until SIGTERM, wired
// as `pagereply worker` wires it.
func runWorkerChild(path string) int {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	opt, err := tasks.RedisConnOpt(cfg.Redis)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	rdb := tasks.NewRedisClient(opt)
	defer rdb.Close()
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true})
	defer ledger.Close()
	w := worker.New(worker.Params{Redis: opt, Ledger: ledger, Pages: cfg.Pages, Concurrency: cfg.Worker.Concurrency,
		Graph:  graph.New(graph.Config{BaseURL: cfg.Graph.BaseURL, Timeout: cfg.Graph.Timeout}),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := w.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	<-ctx.Done()
	w.Shutdown(context.Background())
	return 0
}

// workerChild runs this test binary as one worker process with the config
// file at path.
func workerChild(path string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), workerChildEnv+"="+path)
	return cmd
}

// TestRunRate runs one small combination across two worker processes: the
// sandbox sees sends in the measured window, and the figures are filled in.
func TestRunRate(t *testing.T) {
	db := redistest.New(t)
	pts, err := RunRate(context.Background(), RateOptions{
		RedisURL: db.URL(), Rates: []int{20}, Workers: []int{2}, Duration: time.Second, Warmup: 200 * time.Millisecond,
		Dir:     t.TempDir(),
		Command: workerChild,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 1 {
		t.Fatalf("points %+v", pts)
	}
	p := pts[0]
	if p.Sent <= 0 || p.Achieved <= 0 || p.WorstWindow <= 0 || p.Allowed != 21 || p.Workers != 2 {
		t.Fatalf("point %+v", p)
	}
	t.Logf("20/s across 2 processes: %.1f/s (%.3f), worst 1-s window %d", p.Achieved, p.Accuracy, p.WorstWindow)
	if m := MedianRatePoints([][]RatePoint{pts, pts}); len(m) != 1 || m[0] != p {
		t.Errorf("median of equal runs %+v", m)
	}
}
