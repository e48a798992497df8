package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/pagereply/pagereply/internal/redistest"
)

// stopAtWriter is a command's stderr that calls stop once a write holds at:
// a Ctrl-C at a known point of the command's run.
type stopAtWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	at   string
	stop func()
}

func (w *stopAtWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.at != "" && bytes.Contains(p, []byte(w.at)) {
		w.at = ""
		w.stop()
	}
	return w.buf.Write(p)
}

func (w *stopAtWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestBenchStoppedSaysSo_audit19: Ctrl-C during `pagereply bench` (here
// after the first of two runs, and before the first) ended with the bare
// "pagereply bench pipeline: context canceled". It now says it was stopped
// before its end and gives no figures, exit 1 as `poll` stopped before its
// end; the database is left empty.
func TestBenchStoppedSaysSo_audit19(t *testing.T) {
	for _, at := range []string{"concurrency 5 run 1 ", "before the start"} {
		db := redistest.New(t)
		ctx, cancel := context.WithCancelCause(context.Background())
		stop := func() { cancel(errors.New("interrupt signal received")) }
		errOut := &stopAtWriter{at: at, stop: stop}
		if at == "before the start" {
			stop()
		}
		var out bytes.Buffer
		code := runMain(ctx, &cmdEnv{stdout: &out, stderr: errOut, getenv: func(string) string { return "" }},
			[]string{"bench", "pipeline", "--redis", db.URL(), "--runs", "2", "-n", "2000", "--concurrency", "5"})
		cancel(nil)
		const want = "pagereply bench pipeline: stopped (SIGINT) before the end; no figures\n"
		if code != exitError || !strings.HasSuffix(errOut.String(), want) || strings.Contains(errOut.String(), "context canceled") ||
			strings.Contains(out.String(), "bare_asynq_per_s:") {
			t.Errorf("stopped %s: exit %d, want %d and stderr ending %q\nstdout:\n%s\nstderr:\n%s", at, code, exitError, want, out.String(), errOut.String())
		}
		if n, err := db.Client.DBSize(context.Background()).Result(); err != nil || n != 0 {
			t.Errorf("stopped %s: the database holds %d keys after the bench (%v)", at, n, err)
		}
	}
}
