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

// TestPausedPageLineSaysWhatToDo: a pause that needs a person (a broken
// token, Meta's block) says what to do in its line; a throttle, which ends
// by itself, does not.
func TestPausedPageLineSaysWhatToDo(t *testing.T) {
	db := redistest.New(t)
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	for _, tc := range []struct {
		page string
		err  *graph.Error
		want string
	}{
		{"301", &graph.Error{Code: 190, Class: graph.ClassPageBroken, Message: "Error validating access token"}, "access_token"},
		{"302", &graph.Error{Code: 368, Class: graph.ClassPageBroken, Message: "blocked"}, "Meta Business Suite"},
		{"303", &graph.Error{Code: 80006, Class: graph.ClassThrottled, Message: "too many calls"}, ""},
	} {
		var buf bytes.Buffer
		log := slog.New(slog.NewJSONHandler(&buf, nil)).With(slog.String("page_id", tc.page))
		worker.PauseForError(l, metrics.New(), tc.page, tc.err, log)
		var line struct {
			Msg  string `json:"msg"`
			Hint string `json:"hint"`
		}
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line.Msg != "page paused" {
			t.Fatalf("code %d: %v: %s", tc.err.Code, err, buf.String())
		}
		if tc.want == "" && line.Hint != "" || !strings.Contains(line.Hint, tc.want) {
			t.Errorf("code %d: hint %q, want one with %q", tc.err.Code, line.Hint, tc.want)
		}
		if tc.want != "" && !strings.Contains(line.Hint, "pagereply resume") {
			t.Errorf("code %d: hint %q does not name pagereply resume", tc.err.Code, line.Hint)
		}
	}
}
