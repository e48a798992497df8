package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/bench"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// watchPhases watches db with MONITOR until the returned function is called,
// which returns the order in which the two phases enqueued their tasks: "b"
// for bare asynq's no-op tasks, "p" for the reply path's, repeats folded.
func watchPhases(t *testing.T, db *redistest.DB) func() string {
	t.Helper()
	conn, err := net.Dial("tcp", db.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	if l, err := rd.ReadString('\n'); err != nil || l != "+OK\r\n" {
		t.Fatalf("MONITOR: %q %v", l, err)
	}
	var (
		wg    sync.WaitGroup
		order []byte
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			if !strings.Contains(l, fmt.Sprintf(" [%d ", db.DB)) {
				continue
			}
			var ph byte
			switch {
			case strings.Contains(l, "bench:noop"):
				ph = 'b'
			case strings.Contains(l, tasks.TypeReply):
				ph = 'p'
			default:
				continue
			}
			if len(order) == 0 || order[len(order)-1] != ph {
				order = append(order, ph)
			}
		}
	}()
	return func() string {
		_ = conn.Close()
		wg.Wait()
		return string(order)
	}
}

// TestBenchPipelineFiguresAudit runs `bench pipeline`'s measurement in
// process: runs alternate which phase goes first, each table row is the
// medians of its runs, and the closing lines are the three figures of the
// concurrency-50 row when listed, else of the last.
func TestBenchPipelineFiguresAudit(t *testing.T) {
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	for _, tc := range []struct {
		conc string
		runs int
		head int // the concurrency the closing lines are of
	}{{"10,50,20", 2, 50}, {"10,20", 1, 20}} {
		r, err := pipelineArgs{n: 60, conc: tc.conc}.runner()
		if err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		res := &bench.Results{}
		phases := watchPhases(t, db)
		figs, err := r(context.Background(), &cmdEnv{stdout: &out, stderr: &errOut}, &benchCommon{runs: tc.runs}, opt, res)
		order := phases()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tc.conc, err, errOut.String())
		}
		concs := strings.Split(tc.conc, ",")
		// Run 1 bare first, run 2 the reply path first, at each concurrency.
		want := strings.Repeat([]string{"bp", "bpb"}[tc.runs-1], len(concs))
		if want = strings.ReplaceAll(want, "bb", "b"); order != want {
			t.Errorf("%s: phases enqueued in the order %q, want %q", tc.conc, order, want)
		}
		if len(res.Pipeline) != len(concs) || len(figs) != 2*len(concs) {
			t.Fatalf("%s: %d rows, %d figures", tc.conc, len(res.Pipeline), len(figs))
		}
		var head bench.PipelineRow
		for i, row := range res.Pipeline {
			if fmt.Sprint(row.Concurrency) != concs[i] || len(row.Runs) != tc.runs {
				t.Fatalf("row %d: concurrency %d, %d runs", i, row.Concurrency, len(row.Runs))
			}
			if m := bench.PipelineRowOf(row.Runs); m.BarePerSec != row.BarePerSec || m.PipePerSec != row.PipePerSec || m.Ratio != row.Ratio {
				t.Errorf("row %+v is not the medians of its runs", row)
			}
			for j, run := range row.Runs {
				order := []string{"bare first", "pipeline first"}[j%2]
				if want := fmt.Sprintf("concurrency %d run %d (%s): bare %.0f/s, pipeline %.0f/s, ratio %.2f;", row.Concurrency, j+1, order,
					run.BarePerSec, run.PipePerSec, run.Ratio); !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut.String())
				}
			}
			if row.Concurrency == tc.head {
				head = row
			}
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		tail := strings.Join(lines[len(lines)-3:], "\n")
		if want := fmt.Sprintf("bare_asynq_per_s: %.0f\npipeline_per_s: %.0f\nratio: %.2f", head.BarePerSec, head.PipePerSec, head.Ratio); tail != want {
			t.Errorf("%s: closing lines\n%s\nwant those of concurrency %d\n%s", tc.conc, tail, tc.head, want)
		}
		for _, l := range lines {
			if f := strings.Fields(l); len(f) > 6 && f[0] == fmt.Sprint(tc.head) {
				if got := strings.Join(f[3:6], " "); got != fmt.Sprintf("%.0f %.0f %.2f", head.BarePerSec, head.PipePerSec, head.Ratio) {
					t.Errorf("table row %q", l)
				}
			}
		}
	}
}
