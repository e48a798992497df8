package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestAppPauseLogsOneLineForThePages: the app at its limit pauses every Page
// of the app; with hundreds of Pages, the log gets the answering Page's line
// and one line for the others (how many, why, for how long), not a WARN per
// Page. Every Page is still paused.
func TestAppPauseLogsOneLineForThePages(t *testing.T) {
	const n = 200
	db := redistest.New(t)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%d", 7200000000000000+i)
	}
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{AppPages: ids})
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil)).With(slog.String("page_id", ids[0]))
	worker.PauseForError(l, metrics.New(), ids[0], &graph.Error{Code: 4, Class: graph.ClassThrottled, Message: "(#4) Application request limit reached"}, log)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines (the Page's pause, then the others'), got %d:\n%.2000s", len(lines), buf.String())
	}
	var sum struct {
		Msg    string `json:"msg"`
		Level  string `json:"level"`
		Pages  int    `json:"pages"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Msg != "pages paused" || sum.Level != "WARN" || sum.Pages != n-1 || !strings.Contains(sum.Reason, "seen on page "+ids[0]) {
		t.Errorf("summary line: %s", lines[1])
	}
	ps, err := l.PausedAll(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if p.Left <= 0 {
			t.Fatalf("page %s not paused", ids[i])
		}
	}
}
