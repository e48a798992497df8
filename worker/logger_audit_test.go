package worker_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/worker"
)

// asynqLoggerFatalEnv makes TestAsynqLoggerFatal, run again as a child
// process, call Fatal.
const asynqLoggerFatalEnv = "PAGEREPLY_TEST_ASYNQ_LOGGER_FATAL"

// TestAsynqLogger: asynq's lines keep their level under component=asynq,
// their arguments joined as asynq's own logger joins them, but for its
// "Retry exhausted" warning, written for every archived task (a permanent
// error's too, never retried: the worker logs it itself), which is demoted to
// debug; any other warning stays one.
func TestAsynqLogger(t *testing.T) {
	var buf proctest.Buffer
	l := worker.NewAsynqLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Debug("dequeue ", 1)
	l.Info("starting processing")
	l.Warn("Retry exhausted for task id=abc")
	l.Warn("Could not move task id=abc from active to retry: ", errors.New("NOSCRIPT"))
	l.Error("Dequeue error: ", "redis away")
	want := []struct{ level, msg string }{
		{"DEBUG", "dequeue 1"},
		{"INFO", "starting processing"},
		{"DEBUG", "Retry exhausted for task id=abc"},
		{"WARN", "Could not move task id=abc from active to retry: NOSCRIPT"},
		{"ERROR", "Dequeue error: redis away"},
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, s := range lines {
		var got map[string]any
		if err := json.Unmarshal([]byte(s), &got); err != nil {
			t.Fatalf("line %d: %v: %s", i, err, s)
		}
		if got["level"] != want[i].level || got["msg"] != want[i].msg || got["component"] != "asynq" {
			t.Errorf("line %d = %s, want level %s, msg %q, component asynq", i, s, want[i].level, want[i].msg)
		}
	}
}

// TestAsynqLoggerFatal: Fatal, which asynq calls when it cannot go on, logs
// at error level and exits with status 1 (a supervisor restarts the
// worker), not 0 as a clean stop would.
func TestAsynqLoggerFatal(t *testing.T) {
	if os.Getenv(asynqLoggerFatalEnv) != "" {
		worker.NewAsynqLogger(slog.New(slog.NewJSONHandler(os.Stdout, nil))).Fatal("cannot go on: ", "broken")
		return // not reached: Fatal exits
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAsynqLoggerFatal$", "-test.count=1")
	cmd.Env = append(os.Environ(), asynqLoggerFatalEnv+"=1")
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("Fatal: %v, want exit status 1; output:\n%s", err, out)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(strings.SplitN(string(out), "\n", 2)[0]), &line); err != nil ||
		line["level"] != "ERROR" || line["msg"] != "cannot go on: broken" || line["component"] != "asynq" {
		t.Fatalf("Fatal logged %q (%v), want an error line from component asynq", out, err)
	}
}
