package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
)

// TestLoggerDurations: both log formats write a duration as Go writes it
// ("5m0s"), at the top level, inside a group, in a logger's own attributes
// and under WithGroup; JSON's handler alone would write integer nanoseconds.
// Other values keep their type.
func TestLoggerDurations(t *testing.T) {
	logLines := func(format string) string {
		var buf bytes.Buffer
		log := newLogger(config.Log{Format: format}, &buf)
		log.Info("paused", slog.Duration("for", 5*time.Minute), slog.Int("n", 3),
			slog.Group("pause", slog.Duration("left", 90*time.Second)))
		log.With(slog.Duration("budget", 2*time.Second)).WithGroup("poll").
			Info("took", slog.Any("took", 1500*time.Millisecond))
		return buf.String()
	}

	lines := strings.Split(strings.TrimSpace(logLines("json")), "\n")
	if len(lines) != 2 {
		t.Fatalf("json: %d lines, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	var first struct {
		For   any `json:"for"`
		N     any `json:"n"`
		Pause struct {
			Left any `json:"left"`
		} `json:"pause"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatalf("json: %v: %s", err, lines[0])
	}
	if first.For != "5m0s" || first.Pause.Left != "1m30s" || first.N != 3.0 {
		t.Errorf("json: for %#v, pause.left %#v, n %#v; want \"5m0s\", \"1m30s\", 3: %s", first.For, first.Pause.Left, first.N, lines[0])
	}
	var second struct {
		Budget any `json:"budget"`
		Poll   struct {
			Took any `json:"took"`
		} `json:"poll"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &second); err != nil {
		t.Fatalf("json: %v: %s", err, lines[1])
	}
	if second.Budget != "2s" || second.Poll.Took != "1.5s" {
		t.Errorf("json: budget %#v, poll.took %#v; want \"2s\", \"1.5s\": %s", second.Budget, second.Poll.Took, lines[1])
	}

	text := logLines("text")
	for _, want := range []string{" for=5m0s ", " n=3 ", " pause.left=1m30s", " budget=2s ", " poll.took=1.5s"} {
		if !strings.Contains(text, want) {
			t.Errorf("text: no %q in:\n%s", want, text)
		}
	}
}
